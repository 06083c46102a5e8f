import { z } from 'zod';
import { lmsRegistry } from '../lms/registry.ts';
import { API_KEY_MIN_DISTINCT, API_KEY_MIN_LENGTH, apiKeys } from './api-keys.ts';
import {
  duration,
  existingFile,
  flag,
  httpUrl,
  lowEntropy,
  nonEmpty,
  octalMode,
  port,
  positiveInt,
  redisUrl,
  secretsKey,
  siteAddressOnly,
  webhookSecret,
} from './env-values.ts';
import { clusterNodes, queuePrefix } from './redis-values.ts';
import { LOG_LEVELS } from './shape.ts';

export { API_KEY_MIN_DISTINCT, API_KEY_MIN_LENGTH, lowEntropy };

/**
 * The raw environment schema: one entry per variable of PRODUCT.md (plus a few tuning knobs),
 * each with its default and the words used when the value is wrong. Values here are still strings
 * or primitives; `load.ts` turns them into the typed `Config`.
 */

/**
 * Each LMS's own variables, a union by `LMS`: one branch per registered module
 * (`src/lms/<kind>/module.ts`, its `env`). Built when asked, so a module registered later counts.
 */
export function lmsEnvSchema() {
  const branches = lmsRegistry.kinds().map((k) => lmsRegistry.get(k)!.env);
  const [first, ...rest] = branches;
  if (!first) throw new TypeError('no LMS module is registered');
  return z.discriminatedUnion('LMS', [first, ...rest] as [typeof first, ...(typeof first)[]]);
}

/** The registry's kinds, for messages: `"a", "b" or "c"`. */
export function lmsKindsText(): string {
  const kinds = lmsRegistry.kinds().map((k) => `"${k}"`);
  return kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}` : (kinds[0] ?? 'an LMS');
}

export const envSchema = z.object({
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  /** REDIS_URL is one node of a Redis Cluster (the client learns the others from it). */
  REDIS_CLUSTER: flag.default(false),
  /** A cluster's seed nodes, `host:port,…` (implies REDIS_CLUSTER); REDIS_URL still gives TLS and the login. */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  /** A kind of the LMS registry; its own variables are parsed by its module (src/lms/<kind>/module.ts). */
  LMS: z
    .string()
    .trim()
    .toLowerCase()
    .default(() => lmsRegistry.defaultKind)
    .superRefine((kind, ctx) => {
      if (!lmsRegistry.get(kind)) ctx.addIssue({ code: 'custom', message: `expected ${lmsKindsText()}` });
    }),
  LMS_URL: httpUrl('https://lms.example.edu').superRefine(siteAddressOnly).optional(),
  AUTH_MODE: z
    .enum(['refresh-token', 'client-credentials'], {
      error: 'expected "refresh-token" or "client-credentials"',
    })
    .optional(),
  OAUTH_CLIENT_ID: nonEmpty.optional(),
  OAUTH_CLIENT_SECRET: nonEmpty.optional(),
  OAUTH_SCOPE: z.string().trim().optional(),
  OAUTH_TOKEN_URL: httpUrl('https://auth.example.edu/oauth2/token').optional(),
  OAUTH_AUTHORIZE_URL: httpUrl('https://auth.example.edu/oauth2/authorize').optional(),
  OAUTH_REFRESH_TOKEN: nonEmpty.optional(),
  /** The redirect URI registered with the app (often HTTPS only), for bootstraps and healing. */
  OAUTH_REDIRECT_URI: httpUrl('https://certharvest.example.edu/oauth/callback').optional(),
  /** How often the idle fleet rotates its refresh token (tenants expire unused ones). */
  TOKEN_KEEPALIVE: duration('how often the refresh token is rotated while idle', 1_000).default(
    4 * 3_600_000,
  ),
  /** The keep-alive also extends the web session (keeps one logged-in session alive while idle). */
  TOKEN_KEEPALIVE_SESSION: flag.default(false),
  OAUTH_PRIVATE_KEY_FILE: existingFile('a PEM private key').optional(),
  OAUTH_KEY_ID: nonEmpty.optional(),
  /** `aud` of the private-key-JWT client assertion; default: the token URL. */
  OAUTH_ASSERTION_AUD: nonEmpty.optional(),
  LMS_USERNAME: nonEmpty.optional(),
  LMS_PASSWORD: nonEmpty.optional(),
  LMS_LOGIN_URL: z
    .string()
    .trim()
    .regex(/^\/[^\s]*$/, 'expected a path on the LMS host, such as /login?noredirect=1')
    .optional(),
  /** The login form's fields; defaults: the LMS's own form (config/web-profiles.ts). */
  LMS_LOGIN_USER_SELECTOR: nonEmpty.optional(),
  LMS_LOGIN_PASSWORD_SELECTOR: nonEmpty.optional(),
  LMS_LOGIN_SUBMIT_SELECTOR: nonEmpty.optional(),
  LMS_LOGIN_SCRIPT: existingFile('an ES module exporting login(page, credentials)').optional(),
  LMS_TOTP_SECRET: z
    .string()
    .trim()
    .transform((v) => v.replace(/\s+/g, '').toUpperCase())
    .refine((v) => /^[A-Z2-7]{16,}=*$/.test(v), 'expected a base32 secret (letters A-Z and digits 2-7)')
    .optional(),
  LMS_SESSION_IDLE_MINUTES: positiveInt("minutes of the LMS's idle logout", 24 * 60).default(20),
  LMS_LOGIN_LANDING: z
    .string()
    .trim()
    .regex(/^\/[^\s?#]*$/, 'expected a path on the LMS host, such as /home')
    .optional(),
  DOWNLOAD_STRATEGY: z
    .enum(['auto', 'api', 'browser'], { error: 'expected "auto", "api" or "browser"' })
    .default('auto'),
  OUTPUT_DIR: nonEmpty.default('./certificates'),
  /** The mode of PDFs, sidecars and batch manifests under OUTPUT_DIR, set whatever the umask. */
  OUTPUT_FILE_MODE: octalMode('PDFs and sidecars', '0640', 0o600).default(0o640),
  /** The mode of the folders the worker makes under (and as) OUTPUT_DIR. */
  OUTPUT_DIR_MODE: octalMode('folders under OUTPUT_DIR', '0750', 0o700).default(0o750),
  /** Write each ended batch's manifest to OUTPUT_DIR/_batches/<batchId>.csv; `false`: never. */
  BATCH_MANIFEST: flag.default(true),
  SECRETS_KEY: secretsKey.optional(),
  /** The key before a rotation: sealed values are still read with it, and written with SECRETS_KEY. */
  SECRETS_KEY_PREVIOUS: secretsKey.optional(),
  CHROMIUM_PATH: existingFile('the Chromium executable, e.g. /usr/bin/chromium').optional(),
  BOARD_USER: nonEmpty.optional(),
  BOARD_PASSWORD: nonEmpty.optional(),
  BOARD_PORT: port.default(3000),
  BOARD_HOST: nonEmpty.default('127.0.0.1'),
  /** The board only shows (no retry, clean, remove): on by default; `certharvest demo` turns it off. */
  BOARD_READ_ONLY: flag.default(true),
  /** A label the board shows in its header, e.g. "production" or "test". */
  BOARD_ENV_LABEL: z.string().trim().max(40, 'at most 40 characters').optional(),
  /** The HTTP API's clients (`name:key,...`) on the board's /api/batches; unset: the API is off. */
  API_KEYS: apiKeys.optional(),
  /** A worker's /healthz, /readyz and /metrics; unset: none served. */
  METRICS_PORT: port.optional(),
  METRICS_HOST: nonEmpty.default('127.0.0.1'),
  /**
   * Run Chromium without its sandbox: for containers whose seccomp profile forbids the namespaces
   * it needs (see docs/operations.md). Always off as root, where Chromium refuses the sandbox.
   */
  CHROMIUM_NO_SANDBOX: flag.default(false),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** `json` (one object a line) or `pretty`; unset: pretty on a TTY, json otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }).optional(),
  /** `{certharvest}` (a hash tag) is required on a Redis Cluster: load.ts refuses an untagged one there. */
  QUEUE_PREFIX: queuePrefix.default('certharvest'),
  DISCOVER_CONCURRENCY: positiveInt('user listings run at once per worker', 64).default(4),
  DOWNLOAD_CONCURRENCY: positiveInt('downloads run at once per worker', 64).default(4),
  MAX_PDF_BYTES: positiveInt('bytes: the largest certificate accepted', 2 ** 40).default(50 * 1024 * 1024),
  LMS_OUTAGE_PAUSE_MINUTES: positiveInt(
    'minutes the LMS may be unreachable before the fleet pauses',
    1440,
  ).default(5),
  /** Where a finished batch is announced (POST, JSON, signed by the Standard Webhooks spec). */
  BATCH_WEBHOOK_URL: httpUrl('https://hooks.example.edu/certharvest')
    .refine((v) => {
      const u = new URL(v);
      return u.username === '' && u.password === '';
    }, 'expected a URL without user:password@ (credentials in a URL are sent nowhere and logged everywhere; put a token in the path or rely on the signature)')
    .optional(),
  /** The webhook's signing key, `whsec_<base64>` (a plain key of 16+ characters still works). */
  BATCH_WEBHOOK_SECRET: webhookSecret.optional(),
  /** How long an undelivered webhook is retried (with backoff) before it is dead-lettered. */
  BATCH_WEBHOOK_RETRY_FOR: duration('how long an undelivered webhook is retried', 1_000).default(
    24 * 3_600_000,
  ),
  /** Webhooks failing for longer than this make the worker's /readyz warn. */
  BATCH_WEBHOOK_ALERT_AFTER: duration('how long webhooks may fail before /readyz warns', 1_000).default(
    15 * 60_000,
  ),
});

export type RawEnv = z.infer<typeof envSchema>;

/** Variables whose values are secrets: never echoed, not even in an error message. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'OAUTH_CLIENT_SECRET',
  'OAUTH_REFRESH_TOKEN',
  'LMS_PASSWORD',
  'SECRETS_KEY',
  'SECRETS_KEY_PREVIOUS',
  'BOARD_PASSWORD',
  'API_KEYS',
  'REDIS_URL',
  'LMS_TOTP_SECRET',
  'BATCH_WEBHOOK_SECRET',
]);
