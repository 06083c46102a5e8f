import { existsSync } from 'node:fs';
import { z } from 'zod';
import { lmsRegistry } from '../lms/registry.ts';
import { API_SCOPES, DEFAULT_API_SCOPES, LOG_LEVELS, type ApiScope } from './shape.ts';

/**
 * The raw environment schema: one entry per variable of PRODUCT.md (plus a few tuning knobs),
 * each with its default and the words used when the value is wrong. Values here are still strings
 * or primitives; `load.ts` turns them into the typed `Config`.
 */

const httpUrl = (example: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, `expected an http(s) URL such as ${example}`);

/**
 * LMS_URL is the site's address alone: its host is every certificate's identity and the base of
 * every route, so a copied page address (`/d2l/home`, `?ou=…`, `#…`) is refused, naming the fix.
 * A trailing "/" is fine. Other URLs (a webhook's) keep their paths.
 */
const siteAddressOnly = (v: string, ctx: z.core.$RefinementCtx<string>): void => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return; // httpUrl reports it
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
  const beforeFragment = v.split('#')[0]!;
  const extras = [
    ...(/^\/*$/.test(u.pathname) ? [] : [`a path (${u.pathname})`]),
    ...(u.search !== '' || beforeFragment.includes('?') ? [`a query (${u.search || '?'})`] : []),
    ...(u.hash !== '' || v.includes('#') ? [`a fragment (${u.hash || '#'})`] : []),
  ];
  if (extras.length === 0) return;
  // A URL with user:password@ is a secret: never echoed (the suggested value drops it).
  const shown = u.username || u.password ? 'the URL' : `"${v}"`;
  ctx.addIssue({
    code: 'custom',
    message: `${shown} has ${extras.join(' and ')}; use the site's address alone: LMS_URL=${u.origin}`,
  });
};

const redisUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'redis:' || u.protocol === 'rediss:';
    } catch {
      return false;
    }
  }, 'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379');

const positiveInt = (what: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number (${what})`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `expected a whole number from 1 to ${max} (${what})`);

const port = z
  .string()
  .trim()
  .regex(/^\d+$/, 'expected a TCP port number from 1 to 65535')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, 'expected a TCP port number from 1 to 65535');

const nonEmpty = z.string().min(1, 'must not be empty');

/**
 * A value made of a pattern repeated at least twice (`aaaa…`, `abab…`, 32 zero bytes, a 16-byte
 * string written twice), or of fewer than `minDistinct` different symbols: typed by hand, not
 * drawn at random.
 */
export function lowEntropy(symbols: ArrayLike<number | string>, minDistinct: number): boolean {
  const n = symbols.length;
  for (let period = 1; period <= n / 2; period++) {
    let repeats = true;
    for (let i = period; i < n && repeats; i++) repeats = symbols[i] === symbols[i - period];
    if (repeats) return true;
  }
  return new Set(Array.from(symbols)).size < minDistinct;
}

/** 32 random bytes, base64, as printed by `openssl rand -base64 32`. */
const secretsKey = z
  .string()
  .trim()
  .refine(
    (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32,
    'expected 32 random bytes in base64 (generate one with: openssl rand -base64 32)',
  )
  // 32 random bytes hold about 30 different values; fewer than 16 is a made-up key.
  .refine(
    (v) => !lowEntropy(Buffer.from(v, 'base64'), 16),
    'expected 32 random bytes in base64, but this key is a repeated pattern or has too few different bytes (generate one with: openssl rand -base64 32)',
  );

/**
 * The webhook's key: `whsec_` and 24 to 64 random bytes in base64, as the Standard Webhooks spec
 * has it; a plain key of 16+ characters (the format before it) is still taken as its bytes.
 */
const webhookSecret = z
  .string()
  .trim()
  .refine((v) => {
    if (!v.startsWith('whsec_')) return v.length >= 16;
    const b64 = v.slice('whsec_'.length);
    const bytes = Buffer.from(b64, 'base64').length;
    return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && bytes >= 24 && bytes <= 64;
  }, 'expected whsec_ and 24 to 64 random bytes in base64 (generate one with: echo "whsec_$(openssl rand -base64 32)")');

const existingFile = (what: string) =>
  z
    .string()
    .trim()
    .refine((p) => existsSync(p), `expected the path of an existing file (${what})`);

/**
 * A permission mode in octal (`0640`, `640`, `0o640`) → a number. The owner keeps `owner` (a file
 * the store cannot read back, or a folder it cannot enter, would stop every write).
 */
const octalMode = (what: string, example: string, owner: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const m = /^(?:0o?)?([0-7]{3})$/i.exec(v);
      const mode = m ? parseInt(m[1]!, 8) : NaN;
      if (Number.isNaN(mode) || (mode & owner) !== owner) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an octal mode such as ${example}, 3 digits (0-7) after an optional 0 or 0o, the owner's ${owner === 0o700 ? 'rwx (7)' : 'rw (6 or 7)'} kept (${what})`,
        });
        return z.NEVER;
      }
      return mode;
    });

/** `30s`, `15m`, `4h`, `1d` → milliseconds; `off` (or `0`) → 0. */
const duration = (what: string, minMs: number) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .transform((v, ctx) => {
      if (v === 'off' || v === '0') return 0;
      const m = /^(\d+)\s*(s|m|h|d)$/.exec(v);
      const ms = m ? Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's'] : NaN;
      if (!Number.isSafeInteger(ms) || ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration such as 30s, 15m, 4h or 1d, at least ${minMs / 1000}s, or "off" (${what})`,
        });
        return z.NEVER;
      }
      return ms;
    });

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'expected true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The shortest API key accepted (`openssl rand -hex 32` makes 64 characters). */
export const API_KEY_MIN_LENGTH = 24;
/** Fewer different characters than this is a made-up key (24 random hex digits hold about 13). */
export const API_KEY_MIN_DISTINCT = 8;
const API_KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII but for "," and ":" (the separators): a key travels in an HTTP header. */
const API_KEY_CHARS = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]+$/;

/**
 * `API_KEYS`: the HTTP API's clients, comma-separated, each `name:key`, `name:key:scope+scope`
 * (scopes: `submit`, `read:own`, `read:all`; default `submit+read:own`) or a bare key (named
 * `key-<position>`, default scopes). A name is what the logs show; the key never is. Problems name
 * the entry by its position only: a value that is not what it looks like could be part of a key.
 */
const apiKeys = z.string().transform((v, ctx) => {
  const keys: { name: string; key: string; scopes: ApiScope[] }[] = [];
  let problems = 0;
  const problem = (message: string) => {
    problems++;
    ctx.addIssue({ code: 'custom', message });
  };
  v.split(',')
    .map((e) => e.trim())
    .forEach((entry, i) => {
      const at = `entry ${i + 1}`;
      if (entry === '') return;
      const colon = entry.indexOf(':');
      const name = colon >= 0 ? entry.slice(0, colon).trim() : `key-${i + 1}`;
      const rest = colon >= 0 ? entry.slice(colon + 1) : entry;
      const scopeAt = rest.indexOf(':');
      const key = (scopeAt >= 0 ? rest.slice(0, scopeAt) : rest).trim();
      const scopeText = scopeAt >= 0 ? rest.slice(scopeAt + 1).trim() : undefined;
      const scopes =
        scopeText === undefined ? [...DEFAULT_API_SCOPES] : scopeText.split('+').map((s) => s.trim());
      if (!API_KEY_NAME.test(name)) {
        problem(`${at}: expected name:key with a name of 1-64 letters, digits, ".", "_" or "-"`);
      } else if (!API_KEY_CHARS.test(key)) {
        problem(`${at}: the key must be printable ASCII without spaces, commas or colons`);
      } else if (key.length < API_KEY_MIN_LENGTH) {
        problem(
          `${at}: the key is too short, expected at least ${API_KEY_MIN_LENGTH} characters (generate one with: openssl rand -hex 32)`,
        );
      } else if (lowEntropy(key, API_KEY_MIN_DISTINCT)) {
        problem(
          `${at}: the key is a repeated pattern or has fewer than ${API_KEY_MIN_DISTINCT} different characters; expected a random one (generate one with: openssl rand -hex 32)`,
        );
      } else if (scopes.some((s) => !(API_SCOPES as readonly string[]).includes(s))) {
        problem(`${at} (${name}): expected scopes among ${API_SCOPES.join(', ')}, joined by "+"`);
      } else {
        const sameName = keys.findIndex((k) => k.name === name);
        const sameKey = keys.findIndex((k) => k.key === key);
        if (sameName >= 0) problem(`${at}: the same name as an earlier entry; names must be unique`);
        else if (sameKey >= 0) problem(`${at}: the same key as an earlier entry; give each client its own`);
        else keys.push({ name, key, scopes: [...new Set(scopes as ApiScope[])] });
      }
    });
  if (keys.length === 0 && problems === 0) problem('expected at least one name:key entry');
  return problems > 0 ? z.NEVER : keys;
});

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
  TOKEN_KEEPALIVE_SESSION: boolean.default(false),
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
  BATCH_MANIFEST: boolean.default(true),
  SECRETS_KEY: secretsKey.optional(),
  /** The key before a rotation: sealed values are still read with it, and written with SECRETS_KEY. */
  SECRETS_KEY_PREVIOUS: secretsKey.optional(),
  CHROMIUM_PATH: existingFile('the Chromium executable, e.g. /usr/bin/chromium').optional(),
  BOARD_USER: nonEmpty.optional(),
  BOARD_PASSWORD: nonEmpty.optional(),
  BOARD_PORT: port.default(3000),
  BOARD_HOST: nonEmpty.default('127.0.0.1'),
  /** The board only shows (no retry, clean, remove): on by default; `certharvest demo` turns it off. */
  BOARD_READ_ONLY: boolean.default(true),
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
  CHROMIUM_NO_SANDBOX: boolean.default(false),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** `json` (one object a line) or `pretty`; unset: pretty on a TTY, json otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "-" or "_"')
    .default('certharvest'),
  DISCOVER_CONCURRENCY: positiveInt('discover jobs run at once per worker', 64).default(4),
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
