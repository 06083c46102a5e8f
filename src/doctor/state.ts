import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { TokenProvider } from '../auth/token-provider.ts';
import type { WebSession } from '../browser/index.ts';
import type { Secret } from '../config/secret.ts';
import type { Config, ConfigWith } from '../config/shape.ts';
import type { FleetBreaker } from '../fleet/index.ts';
import type { LmsId } from '../certificate/index.ts';
import type { UserRefKind } from '../lms/ports.ts';
import { createLogger, type Logger } from '../log/index.ts';

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
 * What the checks share: each fills in what it established (the config, a Redis connection, a
 * token provider, the certificate to probe…) for the checks after it, and registers what must be
 * closed. Also the list of secrets no output may contain.
 */
export class DoctorState {
  readonly input: DoctorInput;
  readonly logger: Logger;
  readonly logLines: LogLine[] = [];
  /** The configuration as far as it parses (no LMS required). */
  base: Config | undefined;
  /** The whole configuration a worker needs. */
  config: ConfigWith<'lms' | 'secrets-key'> | undefined;
  redis: Redis | undefined;
  breaker: FleetBreaker | undefined;
  tokens: TokenProvider | undefined;
  /** A token was obtained: the token store opens with this SECRETS_KEY. */
  tokenWorks = false;
  /** Users whose awards may be listed to find a certificate. */
  candidates: LmsId[] = [];
  /** What the bearer PDF route did with the certificate (the web login is then optional). */
  pdfRoute: 'works' | 'absent' | 'refused' | undefined;
  /** The doctor's logged-in web session, once the web login passed. */
  session: WebSession | undefined;

  readonly #secrets = new Set<string>();
  readonly #closers: (() => Promise<unknown>)[] = [];

  constructor(input: DoctorInput) {
    this.input = input;
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
