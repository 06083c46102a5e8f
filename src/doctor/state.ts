import { Writable } from 'node:stream';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { TokenProvider } from '../auth/token-provider.ts';
import type { LoginGate, SessionStore, WebSession } from '../browser/index.ts';
import type { Secret } from '../config/secret.ts';
import type { Config, WebLoginConfig, WorkerConfig } from '../config/shape.ts';
import type { FleetBreaker } from '../fleet/index.ts';
import type { LmsId } from '../certificate/index.ts';
import type { AdapterContext } from '../lms/module.ts';
import type { UserRefKind } from '../lms/ports.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { SkipCheck } from './check.ts';

/** What to check, and where the configuration comes from. */
export interface DoctorInput {
  /** Default: `process.env` (plus `./.env`). */
  env?: NodeJS.ProcessEnv;
  /** A `.env` file to read, or false for none. Default `./.env` when present. */
  envFile?: string | false;
  cwd?: string;
  /** The user whose awards are listed (`--user`); default: the first users with a certificate. */
  user?: { by: UserRefKind; value: string };
  /** The certificate probed (`--issued-id`), one of `user`'s; default: the first one found. */
  issuedId?: LmsId;
}

/** A log line the doctor's components wrote (kept, not printed: the checks' results are the output). */
export interface LogLine {
  level: number;
  msg: string;
}

/** pino's level of `warn`. */
export const WARN_LEVEL = 40;

/**
 * The product's parts the checks make, each once, in the order of the checks: a part is there
 * once the check that makes it passed (`need` hands a check the ones it uses).
 */
export interface DoctorParts {
  /** The configuration as far as it parses (no LMS required): the configuration check. */
  base: Config;
  /** The whole configuration a worker needs: the configuration check. */
  config: WorkerConfig;
  /** The redis check. */
  redis: RedisConnection;
  /** The fleet's breaker, read only: the fleet check. */
  breaker: FleetBreaker;
  /** The token provider a worker would have (without a web session): the token check. */
  tokens: TokenProvider;
  /** What an LMS's adapter is built from, as the worker's is: the token check. */
  lms: AdapterContext;
  /** The doctor's logged-in web session: the web login check. */
  session: WebSession;
}

/** Why a part is missing, said by a check that needed it ("skipped: …"). */
const MISSING: Record<keyof DoctorParts, string> = {
  base: 'the configuration does not parse',
  config: 'the configuration is not complete',
  redis: 'Redis is not connected',
  breaker: "the fleet's state was not read",
  tokens: 'no token was obtained',
  lms: 'no token was obtained',
  session: 'no web session (the web login did not pass)',
};

/** The doctor's choices for its web session: the login, where it goes, and its own gate. */
export interface DoctorSessionChoice {
  webLogin: WebLoginConfig;
  store: SessionStore;
  /** The doctor's gate (one login per run), instead of the fleet's. */
  loginGate: LoginGate;
  /** Told each time the two-factor code is taken. */
  onTwoFactorCode: () => void;
}

/**
 * How the doctor makes the product's parts: the composition root's builders (src/doctor/assembly.ts),
 * handed to the checks through the state, so that the LMS folders' steps build nothing themselves.
 */
export interface DoctorAssembly {
  /** The fleet's breaker, read only: the doctor never pauses, resumes or holds the fleet. */
  breaker(config: Config, redis: RedisConnection, logger: Logger): FleetBreaker;
  /** A worker's token provider, without a web session (a refused refresh token must show, not heal). */
  tokens(config: WorkerConfig, redis: RedisConnection, logger: Logger): Promise<TokenProvider>;
  /** What an LMS's adapter is built from (the fleet's request budget included). */
  adapterContext(
    config: WorkerConfig,
    redis: RedisConnection,
    logger: Logger,
    tokens: TokenProvider,
  ): AdapterContext;
  /** The fleet's session store, or with `keyPrefix` one of the doctor's own. */
  sessionStore(config: WorkerConfig, redis: RedisConnection, keyPrefix?: string): SessionStore;
  /** The fleet's web session as a worker builds it, with the doctor's choices. */
  webSession(
    config: WorkerConfig,
    redis: RedisConnection,
    logger: Logger,
    choice: DoctorSessionChoice,
  ): WebSession;
}

/**
 * What the checks share: the parts each made (the config, a Redis connection, a token
 * provider…) for the checks after it, what they found (the users and certificate to probe), and
 * what must be closed. Also the list of secrets no output may contain.
 */
export class DoctorState {
  readonly input: DoctorInput;
  readonly assembly: DoctorAssembly;
  readonly logger: Logger;
  readonly logLines: LogLine[] = [];
  /** A token was obtained: the token store opens with this SECRETS_KEY. */
  tokenWorks = false;
  /** Users whose awards may be listed to find a certificate. */
  candidates: LmsId[] = [];
  /** What the bearer PDF route did with the certificate (the web login is then optional). */
  pdfRoute: 'works' | 'absent' | 'refused' | undefined;

  readonly #parts: Partial<DoctorParts> = {};
  readonly #kept = new Map<new () => unknown, unknown>();
  readonly #secrets = new Set<string>();
  readonly #closers: (() => Promise<unknown>)[] = [];

  constructor(input: DoctorInput, assembly: DoctorAssembly) {
    this.input = input;
    this.assembly = assembly;
    const lines = this.logLines;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n').filter(Boolean)) {
          try {
            const line = JSON.parse(text) as { level?: unknown; msg?: unknown };
            lines.push({ level: Number(line.level), msg: String(line.msg ?? '') });
          } catch {
            // not a JSON line: nothing to keep
          }
        }
        done();
      },
    });
    this.logger = createLogger({ level: 'info', destination: sink });
  }

  /** Keep `value` for the checks after this one; returns it. */
  provide<K extends keyof DoctorParts>(key: K, value: DoctorParts[K]): DoctorParts[K] {
    this.#parts[key] = value;
    return value;
  }

  /** A part, when it was made. */
  part<K extends keyof DoctorParts>(key: K): DoctorParts[K] | undefined {
    return this.#parts[key];
  }

  /**
   * The parts a check uses; one that was never made skips the check (`SkipCheck`), saying why.
   * A check's `needs` usually keeps it from running then: this is the typed side of it.
   */
  need<K extends keyof DoctorParts>(...keys: K[]): Pick<DoctorParts, K> {
    const view = {} as Pick<DoctorParts, K>;
    for (const key of keys) {
      const value = this.#parts[key];
      if (value === undefined) throw new SkipCheck(`skipped: ${MISSING[key]}`);
      view[key] = value as DoctorParts[K];
    }
    return view;
  }

  /** What one LMS's steps keep for their later steps in this run: one `Kind`, made at first use. */
  kept<T>(Kind: new () => T): T {
    if (!this.#kept.has(Kind)) this.#kept.set(Kind, new Kind());
    return this.#kept.get(Kind) as T;
  }

  /** A value no result may show (shorter ones would blank out ordinary words). */
  addSecret(value: Secret | string | undefined): void {
    const text = typeof value === 'string' ? value : value?.reveal();
    if (text !== undefined && text.length >= 4) this.#secrets.add(text);
  }

  /** Every secret the configuration holds. */
  addSecretsOf(config: Config): void {
    for (const secret of [
      config.lms?.auth.kind !== 'private-key-jwt' ? config.lms?.auth.clientSecret : undefined,
      config.lms?.auth.kind === 'refresh-token' ? config.lms.auth.initialRefreshToken : undefined,
      config.webLogin?.password,
      config.webLogin?.totpSecret,
      config.secretsKey,
      config.secretsKeyPrevious,
      config.board.password,
    ]) {
      this.addSecret(secret);
    }
    try {
      const password = new URL(config.redisUrl.reveal()).password;
      this.addSecret(password);
      this.addSecret(decodeURIComponent(password));
    } catch {
      // an unparseable URL is reported by the Redis check; its text is never printed
    }
  }

  /** `text` with every known secret replaced. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** Close `what` when the doctor is done (last registered, first closed). */
  onClose(what: () => Promise<unknown>): void {
    this.#closers.push(what);
  }

  async close(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close().catch(() => undefined);
  }
}
