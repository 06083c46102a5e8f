import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError } from '../errors/index.ts';
import type { WebProfile } from '../browser/index.ts';
import type { AuthMode, LmsModule } from '../lms/module.ts';
import { lmsRegistry } from '../lms/registry.ts';
import { hashTagOf, nodeOfUrl, untaggedPrefixProblem } from './redis-values.ts';
import { envSchema, lmsEnvSchema, SECRET_VARIABLES, type RawEnv } from './schema.ts';
import { Secret } from './secret.ts';
import {
  authConfigSchema,
  type Config,
  type ConfigNeed,
  type ConfigWith,
  type LmsConfig,
  type WebSessionConfig,
} from './shape.ts';

export interface LoadConfigOptions<N extends ConfigNeed = never> {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A `.env` file to read; values already in `env` win. Default `./.env` when present. */
  envFile?: string | false;
  needs?: readonly N[];
  cwd?: string;
}

/** The loopback callback `certharvest auth bootstrap` listens on when nothing else is registered. */
export const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Read the environment (and `.env`) once, validate it, and return the typed config. */
export function loadConfig<N extends ConfigNeed = never>(options: LoadConfigOptions<N> = {}): ConfigWith<N> {
  const cwd = options.cwd ?? process.cwd();
  // Empty values are dropped after the merge: `FOO=` in the environment overrides the .env file's
  // FOO and means "unset", so a setting there can be turned off from outside.
  const env = stripEmpty({ ...readEnvFile(options.envFile, cwd), ...(options.env ?? process.env) });
  // The shared variables, then the LMS's own (its branch of the union by LMS); all problems at once.
  const parsed = envSchema.safeParse(env);
  const kind = (env.LMS ?? lmsRegistry.defaultKind).trim().toLowerCase();
  const module = lmsRegistry.get(kind);
  const branch = module ? lmsEnvSchema().safeParse({ ...env, LMS: kind }) : undefined;
  const issues = [...(parsed.error?.issues ?? []), ...(branch?.error?.issues ?? [])];
  if (!parsed.success || !module || !branch?.success) throw new ConfigError(issuesToProblems(issues, env));
  const { config, lmsProblems } = toConfig(parsed.data, module, branch.data, cwd);
  const problems = missingFor(config, parsed.data, lmsProblems, options.needs ?? []);
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigWith<N>;
}

/** One line per problem, naming the variable and never showing a secret's value. */
function issuesToProblems(issues: readonly z.core.$ZodIssue[], env: Record<string, string>): string[] {
  return issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const value = env[name];
    // A URL with user:password@ is a secret too, whatever the variable.
    const hidden =
      SECRET_VARIABLES.has(name) || (value !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value));
    const shown = value === undefined ? 'it is not set' : hidden ? 'value hidden' : `got "${value}"`;
    return `${name}: ${issue.message} (${shown})`;
  });
}

function readEnvFile(envFile: string | false | undefined, cwd: string): Record<string, string> {
  if (envFile === false) return {};
  const file = path.resolve(cwd, envFile ?? '.env');
  if (!existsSync(file)) {
    if (envFile !== undefined) throw new ConfigError([`.env file ${file}: not found`]);
    return {};
  }
  return parseDotenv(readFileSync(file));
}

/** An empty variable counts as unset, so `FOO=` in a shell does not trip validation. */
function stripEmpty(env: NodeJS.ProcessEnv | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

const secret = (v: string | undefined) => (v === undefined ? undefined : new Secret(v));

function toConfig(
  raw: RawEnv,
  module: LmsModule,
  branch: Record<string, unknown>,
  cwd: string,
): { config: Config; lmsProblems: string[] } {
  const { lms, problems } = toLmsConfig(raw, module, branch, cwd);
  const config: Config = {
    redisUrl: new Secret(raw.REDIS_URL),
    redisCluster: raw.REDIS_CLUSTER_NODES
      ? { nodes: raw.REDIS_CLUSTER_NODES }
      : raw.REDIS_CLUSTER
        ? { nodes: [nodeOfUrl(raw.REDIS_URL)] }
        : undefined,
    queuePrefix: raw.QUEUE_PREFIX,
    lms,
    webLogin:
      raw.LMS_USERNAME && raw.LMS_PASSWORD
        ? {
            username: raw.LMS_USERNAME,
            password: new Secret(raw.LMS_PASSWORD),
            totpSecret: secret(raw.LMS_TOTP_SECRET),
          }
        : undefined,
    webSession: toWebSessionConfig(raw, lms?.site.webProfile ?? module.webProfile),
    downloadStrategy: raw.DOWNLOAD_STRATEGY,
    outputDir: path.resolve(cwd, raw.OUTPUT_DIR),
    outputModes: { fileMode: raw.OUTPUT_FILE_MODE, dirMode: raw.OUTPUT_DIR_MODE },
    batchManifest: raw.BATCH_MANIFEST,
    secretsKey: secret(raw.SECRETS_KEY),
    secretsKeyPrevious: secret(raw.SECRETS_KEY_PREVIOUS),
    chromiumPath: raw.CHROMIUM_PATH ?? (existsSync(DEFAULT_CHROMIUM) ? DEFAULT_CHROMIUM : undefined),
    chromiumNoSandbox: raw.CHROMIUM_NO_SANDBOX,
    board: {
      user: raw.BOARD_USER,
      password: secret(raw.BOARD_PASSWORD),
      port: raw.BOARD_PORT,
      host: raw.BOARD_HOST,
      readOnly: raw.BOARD_READ_ONLY,
      envLabel: raw.BOARD_ENV_LABEL || undefined,
      apiKeys: (raw.API_KEYS ?? []).map((k) => ({ name: k.name, key: new Secret(k.key), scopes: k.scopes })),
    },
    logLevel: raw.LOG_LEVEL,
    logFormat: raw.LOG_FORMAT,
    concurrency: { discover: raw.DISCOVER_CONCURRENCY, download: raw.DOWNLOAD_CONCURRENCY },
    outagePauseAfterMs: raw.LMS_OUTAGE_PAUSE_MINUTES * 60_000,
    maxPdfBytes: raw.MAX_PDF_BYTES,
    metrics: raw.METRICS_PORT === undefined ? undefined : { port: raw.METRICS_PORT, host: raw.METRICS_HOST },
    keepAlive:
      raw.TOKEN_KEEPALIVE > 0
        ? { everyMs: raw.TOKEN_KEEPALIVE, webSession: raw.TOKEN_KEEPALIVE_SESSION }
        : undefined,
    batchWebhook:
      raw.BATCH_WEBHOOK_URL && raw.BATCH_WEBHOOK_SECRET
        ? {
            url: raw.BATCH_WEBHOOK_URL,
            secret: new Secret(raw.BATCH_WEBHOOK_SECRET),
            retryForMs: raw.BATCH_WEBHOOK_RETRY_FOR || Number.MAX_SAFE_INTEGER, // off: retried for ever
            alertAfterMs: raw.BATCH_WEBHOOK_ALERT_AFTER,
          }
        : undefined,
  };
  return { config, lmsProblems: problems };
}

/** The web login: the LMS module's (and site profile's) web profile, LMS_LOGIN_* laid over it. */
function toWebSessionConfig(raw: RawEnv, profile: WebProfile): WebSessionConfig {
  return {
    profile: {
      ...profile,
      loginPath: raw.LMS_LOGIN_URL ?? profile.loginPath,
      landingPath: raw.LMS_LOGIN_LANDING ?? profile.landingPath,
      selectors: {
        username: raw.LMS_LOGIN_USER_SELECTOR ?? profile.selectors.username,
        password: raw.LMS_LOGIN_PASSWORD_SELECTOR ?? profile.selectors.password,
        submit: raw.LMS_LOGIN_SUBMIT_SELECTOR ?? profile.selectors.submit,
      },
    },
    script: raw.LMS_LOGIN_SCRIPT,
    idleMs: raw.LMS_SESSION_IDLE_MINUTES * 60_000,
  };
}

/** The LMS section, whole, or the list of what is missing for it (reported only when needed). */
function toLmsConfig(
  raw: RawEnv,
  module: LmsModule,
  branch: Record<string, unknown>,
  cwd: string,
): { lms: LmsConfig | undefined; problems: string[] } {
  const problems: string[] = [];
  const need = <T>(value: T | undefined, name: string, expected: string): T | undefined => {
    if (value === undefined) problems.push(`${name}: ${expected} (it is not set)`);
    return value;
  };
  const url = need(
    raw.LMS_URL?.replace(/\/+$/, ''),
    'LMS_URL',
    `expected the LMS base URL, e.g. ${module.exampleUrl}`,
  );
  const mode: AuthMode = raw.AUTH_MODE ?? module.token.defaultMode;
  const site = url
    ? module.configure(branch, {
        url,
        host: new URL(url).host,
        downloadStrategy: raw.DOWNLOAD_STRATEGY,
        webLogin: Boolean(raw.LMS_USERNAME && raw.LMS_PASSWORD),
        authMode: mode,
        resolvePath: (file) => path.resolve(cwd, file),
      })
    : undefined;
  if (site && 'problems' in site) problems.push(...site.problems);
  const auth = toAuthSection(raw, module, { mode, url, need });
  if (problems.length > 0 || !url || !site || 'problems' in site) return { lms: undefined, problems };
  const parsed = authConfigSchema.safeParse(auth);
  if (!parsed.success) {
    return {
      lms: undefined,
      problems: parsed.error.issues.map((i) => `auth ${i.path.join('.')}: ${i.message}`),
    };
  }
  return {
    lms: { kind: module.kind, url, host: new URL(url).host, auth: parsed.data, site },
    problems,
  };
}

/** Records a required variable that is not set (and passes its value on). */
type Need = <T>(value: T | undefined, name: string, expected: string) => T | undefined;

/** The OAuth2 part of the LMS section, unchecked: the module's token quirks, the auth mode's variables. */
function toAuthSection(
  raw: RawEnv,
  module: LmsModule,
  { mode, url, need }: { mode: AuthMode; url: string | undefined; need: Need },
): unknown {
  const clientId = need(
    raw.OAUTH_CLIENT_ID,
    'OAUTH_CLIENT_ID',
    'expected the OAuth2 client id of the registered app',
  );
  const scope = raw.OAUTH_SCOPE ?? module.token.scope(mode);
  const tokenUrl = raw.OAUTH_TOKEN_URL ?? (url && module.token.tokenUrl(url));
  const authorizeUrl = raw.OAUTH_AUTHORIZE_URL ?? (url && module.token.authorizeUrl(url));
  const secretEncoding = module.token.basicEncoding;
  // Client credentials with a private-key JWT where the LMS takes one, unless a client secret is
  // set without a key file (an authorization server in front of the LMS that takes a secret).
  const privateKeyJwt =
    module.token.clientCredentials === 'private-key-jwt-unless-secret' &&
    (raw.OAUTH_PRIVATE_KEY_FILE !== undefined || !raw.OAUTH_CLIENT_SECRET);
  if (mode === 'client-credentials' && privateKeyJwt) {
    return {
      kind: 'private-key-jwt',
      mode,
      clientId,
      scope,
      tokenUrl,
      privateKeyFile: need(
        raw.OAUTH_PRIVATE_KEY_FILE,
        'OAUTH_PRIVATE_KEY_FILE',
        'expected a PEM private key for client-credentials with a private-key JWT',
      ),
      keyId: need(raw.OAUTH_KEY_ID, 'OAUTH_KEY_ID', 'expected the key id (kid) registered in the JWKS'),
      ...(raw.OAUTH_ASSERTION_AUD ? { assertionAudience: raw.OAUTH_ASSERTION_AUD } : {}),
    };
  }
  const clientSecret = need(
    secret(raw.OAUTH_CLIENT_SECRET),
    'OAUTH_CLIENT_SECRET',
    'expected the OAuth2 client secret',
  );
  return mode === 'client-credentials'
    ? { kind: 'client-secret', mode, clientId, scope, tokenUrl, clientSecret, secretEncoding }
    : {
        kind: 'refresh-token',
        mode,
        clientId,
        scope,
        tokenUrl,
        clientSecret,
        secretEncoding,
        authorizeUrl,
        redirectUri: raw.OAUTH_REDIRECT_URI ?? DEFAULT_REDIRECT_URI,
        initialRefreshToken: secret(raw.OAUTH_REFRESH_TOKEN),
      };
}

/** The shortest BOARD_PASSWORD for a board reachable beyond this machine, or one that can write. */
export const BOARD_PASSWORD_MIN_LENGTH = 12;

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** What a Redis Cluster refuses: an untagged prefix (CROSSSLOT), a database number (it has only 0). */
function clusterProblems(raw: RawEnv): string[] {
  const problems = hashTagOf(raw.QUEUE_PREFIX) ? [] : [untaggedPrefixProblem(raw.QUEUE_PREFIX)];
  if (!/^\/?0?$/.test(new URL(raw.REDIS_URL).pathname)) {
    problems.push('REDIS_URL: a Redis Cluster has database 0 only; drop the database number (value hidden)');
  }
  return problems;
}

function missingFor(
  config: Config,
  raw: RawEnv,
  lmsProblems: string[],
  needs: readonly ConfigNeed[],
): string[] {
  const problems: string[] = [];
  const need = (ok: unknown, name: string, expected: string) => {
    if (!ok) problems.push(`${name}: ${expected} (it is not set)`);
  };
  if (needs.includes('lms')) problems.push(...lmsProblems);
  if (config.redisCluster) problems.push(...clusterProblems(raw));
  // Always: a webhook nobody can verify, or a secret for no webhook, is a mistake worth stopping for.
  if (raw.BATCH_WEBHOOK_URL && !raw.BATCH_WEBHOOK_SECRET) {
    need(false, 'BATCH_WEBHOOK_SECRET', 'expected the key that signs the webhook (BATCH_WEBHOOK_URL is set)');
  }
  if (raw.BATCH_WEBHOOK_SECRET && !raw.BATCH_WEBHOOK_URL) {
    need(
      false,
      'BATCH_WEBHOOK_URL',
      'expected the URL to POST finished batches to (BATCH_WEBHOOK_SECRET is set)',
    );
  }
  if (needs.includes('browser-login') && !config.webLogin) {
    need(raw.LMS_USERNAME, 'LMS_USERNAME', "expected the service user's web login name");
    need(raw.LMS_PASSWORD, 'LMS_PASSWORD', "expected the service user's web password");
  }
  if (needs.includes('board-auth')) {
    need(config.board.user, 'BOARD_USER', 'expected a user name for the dashboard');
    need(config.board.password, 'BOARD_PASSWORD', 'expected a password for the dashboard');
    const { password, host, readOnly } = config.board;
    const exposed = !isLoopback(host) || !readOnly;
    if (password && exposed && password.reveal().length < BOARD_PASSWORD_MIN_LENGTH) {
      problems.push(
        `BOARD_PASSWORD: expected at least ${BOARD_PASSWORD_MIN_LENGTH} characters when the board ${
          isLoopback(host)
            ? 'is read-write (BOARD_READ_ONLY=false)'
            : `listens beyond loopback (BOARD_HOST=${host})`
        }; generate one with: openssl rand -base64 18 (value hidden)`,
      );
    }
  }
  if (needs.includes('secrets-key')) {
    need(config.secretsKey, 'SECRETS_KEY', 'expected 32 random bytes in base64 (openssl rand -base64 32)');
  }
  return problems;
}
