/**
 * What the configuration is: the typed `Config` the rest of the program trusts, and the few value
 * lists it is made of. Nothing here loads or looks up an LMS (that is load.ts, with the registry),
 * so any module may import it, the LMS modules' own code included.
 */
import { z } from 'zod';
import type { WebProfile } from '../browser/web-profile.ts';
import type { AuthMode, ConfiguredLms, DownloadStrategy } from '../lms/module.ts';
import type { RedisClusterConfig } from './redis-values.ts';
import { Secret } from './secret.ts';

/** The values of LOG_LEVEL (pino's levels). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What an API key may do: submit batches, read the batches it submitted, read every batch. */
export const API_SCOPES = ['submit', 'read:own', 'read:all'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
/** The scopes of a key whose entry names none: a client sees its own batches only. */
export const DEFAULT_API_SCOPES: readonly ApiScope[] = ['submit', 'read:own'];

/** The value of `LMS`: a kind of the LMS registry (src/lms/registry.ts). */
export type LmsKind = string;
export type { AuthMode, DownloadStrategy };

/**
 * How the worker gets its access token, one shape per mode, each complete: a consumer switches on
 * `kind` and never checks a field again. Built at its first parse: a configuration without an LMS
 * (`status` against Redis only) does not pay for it.
 */
export const authConfigSchema = z.lazy(() => {
  const secretValue = z.instanceof(Secret);
  const common = {
    clientId: z.string().min(1),
    scope: z.string(),
    tokenUrl: z.string().min(1),
  };
  return z.discriminatedUnion('kind', [
    /** The service-user pattern: one-use refresh tokens, rotated in the token store. */
    z.object({
      kind: z.literal('refresh-token'),
      mode: z.literal('refresh-token'),
      ...common,
      clientSecret: secretValue,
      /** How the client secret's Basic header is encoded (the LMS module's token quirk). */
      secretEncoding: z.enum(['form', 'raw']),
      authorizeUrl: z.string().min(1),
      /**
       * `OAUTH_REDIRECT_URI`: registered with the app; where bootstraps and healing send the code.
       * Default: the loopback callback `auth bootstrap` listens on.
       */
      redirectUri: z.string().min(1),
      /** `OAUTH_REFRESH_TOKEN`: imported once into the store, then rotated there. */
      initialRefreshToken: secretValue.optional(),
    }),
    /** Client credentials with a private-key JWT client assertion. */
    z.object({
      kind: z.literal('private-key-jwt'),
      mode: z.literal('client-credentials'),
      ...common,
      privateKeyFile: z.string().min(1),
      keyId: z.string().min(1),
      /** `aud` of the client assertion (`OAUTH_ASSERTION_AUD`); the token URL when absent. */
      assertionAudience: z.string().min(1).optional(),
    }),
    /** Client credentials with a client secret (HTTP Basic `id:secret`), e.g. Learn's. */
    z.object({
      kind: z.literal('client-secret'),
      mode: z.literal('client-credentials'),
      ...common,
      clientSecret: secretValue,
      secretEncoding: z.enum(['form', 'raw']),
    }),
  ]);
});
export type AuthConfig = z.infer<typeof authConfigSchema>;

/** The LMS and how to authenticate to it: present only when complete. */
export interface LmsConfig {
  /** The value of `LMS`. */
  kind: LmsKind;
  /** Base URL without a trailing slash. */
  url: string;
  /** `host[:port]` of `url`: part of every certificate's identity. */
  host: string;
  auth: AuthConfig;
  /**
   * The LMS's module bound to its own variables (its branch of the configuration): the web
   * profile, the adapter, the doctor's steps. Nothing outside `src/lms/<kind>/` looks inside.
   */
  site: ConfiguredLms;
}

/** The service user's web login, for the browser session. */
export interface WebLoginConfig {
  username: string;
  password: Secret;
  /** Base32 secret of the service user's native two-factor login (LMS_TOTP_SECRET). */
  totpSecret: Secret | undefined;
}

/** How the web session is obtained and kept (with or without a web login configured). */
export interface WebSessionConfig {
  /**
   * The site's web login: the LMS module's profile, with a site profile's `login:` section and the
   * LMS_LOGIN_* variables (LMS_LOGIN_URL, LMS_LOGIN_LANDING, LMS_LOGIN_*_SELECTOR) laid over it.
   */
  profile: WebProfile;
  /** An ES module exporting `login(page, credentials)` for SSO tenants (LMS_LOGIN_SCRIPT). */
  script: string | undefined;
  /** The tenant's idle logout: the session is extended before it (LMS_SESSION_IDLE_MINUTES). */
  idleMs: number;
}

/** A client of the board's HTTP API (API_KEYS): its name is logged, its key never is. */
export interface ApiKey {
  name: string;
  key: Secret;
  /** What the key may do (`name:key:scope+scope`; default `submit+read:own`). */
  scopes: readonly ApiScope[];
}

export interface BoardConfig {
  user: string | undefined;
  password: Secret | undefined;
  port: number;
  host: string;
  /** BOARD_READ_ONLY: no write actions on the board. */
  readOnly: boolean;
  /** BOARD_ENV_LABEL: shown in the board's header. */
  envLabel: string | undefined;
  /** API_KEYS: the clients of the HTTP API on /api/batches; empty: the API is off. */
  apiKeys: ApiKey[];
}

/** The typed configuration the rest of the program trusts. Secrets are `Secret`s. */
export interface Config {
  /** REDIS_URL: the server, or with `redisCluster` the TLS setting and login of every node. */
  redisUrl: Secret;
  /**
   * A Redis Cluster's seed nodes (REDIS_CLUSTER_NODES, or REDIS_URL's host with REDIS_CLUSTER);
   * undefined: one Redis server. A cluster's `queuePrefix` is always hash-tagged.
   */
  redisCluster: RedisClusterConfig | undefined;
  queuePrefix: string;
  /** Undefined when the LMS is not (completely) configured; `needs: ['lms']` guarantees it. */
  lms: LmsConfig | undefined;
  /** Undefined without LMS_USERNAME/LMS_PASSWORD; `needs: ['browser-login']` guarantees it. */
  webLogin: WebLoginConfig | undefined;
  webSession: WebSessionConfig;
  downloadStrategy: DownloadStrategy;
  /** Absolute path. */
  outputDir: string;
  /** OUTPUT_FILE_MODE and OUTPUT_DIR_MODE: the modes the store gives what it writes (0o640, 0o750). */
  outputModes: { fileMode: number; dirMode: number };
  /** BATCH_MANIFEST: write `OUTPUT_DIR/_batches/<id>.csv` when a batch ends (default true). */
  batchManifest: boolean;
  secretsKey: Secret | undefined;
  /** `SECRETS_KEY_PREVIOUS`: read-only, for values sealed before a key rotation. */
  secretsKeyPrevious: Secret | undefined;
  chromiumPath: string | undefined;
  /** CHROMIUM_NO_SANDBOX: launch Chromium without its sandbox (containers that forbid it). */
  chromiumNoSandbox: boolean;
  board: BoardConfig;
  logLevel: LogLevel;
  /** LOG_FORMAT; undefined: pretty on a TTY, json otherwise (the logger decides). */
  logFormat: 'json' | 'pretty' | undefined;
  concurrency: { discover: number; download: number };
  /** Pause the fleet when the LMS has been unreachable this long (LMS_OUTAGE_PAUSE_MINUTES). */
  outagePauseAfterMs: number;
  /** The largest certificate accepted; a bigger or endless body is cut (MAX_PDF_BYTES). */
  maxPdfBytes: number;
  /** Where a worker serves /healthz, /readyz and /metrics (METRICS_PORT, METRICS_HOST). */
  metrics: { port: number; host: string } | undefined;
  /**
   * The fleet's scheduled keep-alive (TOKEN_KEEPALIVE, TOKEN_KEEPALIVE_SESSION); undefined when
   * off. Rotates the refresh token while nothing else uses it, and may extend the web session.
   */
  keepAlive: { everyMs: number; webSession: boolean } | undefined;
  /** Where finished batches are announced (BATCH_WEBHOOK_URL, signed with BATCH_WEBHOOK_SECRET). */
  batchWebhook:
    | {
        url: string;
        secret: Secret;
        /** How long an undelivered webhook is retried before it is dead-lettered (BATCH_WEBHOOK_RETRY_FOR). */
        retryForMs: number;
        /** Failing for longer than this, /readyz warns (BATCH_WEBHOOK_ALERT_AFTER); 0: never. */
        alertAfterMs: number;
      }
    | undefined;
}

/** What a command needs configured; anything missing from its list is a config error. */
export type ConfigNeed = 'lms' | 'browser-login' | 'board-auth' | 'secrets-key';

/** What each need guarantees in the returned type. */
interface Guarantees {
  lms: { lms: LmsConfig };
  'browser-login': { webLogin: WebLoginConfig };
  'board-auth': { board: BoardConfig & { user: string; password: Secret } };
  'secrets-key': { secretsKey: Secret };
}
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
/** `Config` narrowed by what `needs` guaranteed. */
export type ConfigWith<N extends ConfigNeed> = Config & UnionToIntersection<Guarantees[N]>;

/** What a worker (and the fleet's composition root) runs on: the LMS and SECRETS_KEY guaranteed. */
export type WorkerConfig = ConfigWith<'lms' | 'secrets-key'>;
