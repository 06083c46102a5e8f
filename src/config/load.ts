import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors/index.ts';
import { envSchema, SECRET_VARIABLES, type RawEnv } from './schema.ts';
import { Secret } from './secret.ts';

export type LmsKind = 'brightspace' | 'blackboard';
export type AuthMode = 'refresh-token' | 'client-credentials';
export type DownloadStrategy = 'auto' | 'api' | 'browser';
export type LogLevel = RawEnv['LOG_LEVEL'];

/** The typed configuration the rest of the program trusts. Secrets are `Secret`s. */
export interface Config {
  redisUrl: Secret;
  queuePrefix: string;
  lms: LmsKind;
  /** Base URL without a trailing slash, or undefined when no LMS is configured. */
  lmsUrl: string | undefined;
  authMode: AuthMode;
  oauth: {
    clientId: string | undefined;
    clientSecret: Secret | undefined;
    scope: string;
    tokenUrl: string | undefined;
    authorizeUrl: string | undefined;
    refreshToken: Secret | undefined;
    privateKeyFile: string | undefined;
    keyId: string | undefined;
  };
  lmsUsername: string | undefined;
  lmsPassword: Secret | undefined;
  downloadStrategy: DownloadStrategy;
  /** Absolute path. */
  outputDir: string;
  secretsKey: Secret | undefined;
  chromiumPath: string | undefined;
  board: { user: string | undefined; password: Secret | undefined; port: number; host: string };
  logLevel: LogLevel;
  concurrency: { discover: number; download: number };
}

/** What a command needs configured; anything missing from its list is a config error. */
export type ConfigNeed = 'lms' | 'browser-login' | 'board-auth' | 'secrets-key';

export interface LoadConfigOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A `.env` file to read; values already in `env` win. Default `./.env` when present. */
  envFile?: string | false;
  needs?: readonly ConfigNeed[];
  cwd?: string;
}

const BRIGHTSPACE_TOKEN_URL = 'https://auth.brightspace.com/core/connect/token';
const BRIGHTSPACE_AUTHORIZE_URL = 'https://auth.brightspace.com/oauth2/auth';
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Read the environment (and `.env`) once, validate it, and return the typed config. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = { ...readEnvFile(options.envFile, cwd), ...stripEmpty(options.env ?? process.env) };
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '?');
        const value = env[name];
        const shown =
          value === undefined
            ? 'it is not set'
            : SECRET_VARIABLES.has(name)
              ? 'value hidden'
              : `got "${value}"`;
        return `${name}: ${issue.message} (${shown})`;
      }),
    );
  }
  const config = toConfig(parsed.data, cwd);
  const problems = missingFor(config, options.needs ?? []);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readEnvFile(envFile: string | false | undefined, cwd: string): Record<string, string> {
  if (envFile === false) return {};
  const file = path.resolve(cwd, envFile ?? '.env');
  if (!existsSync(file)) {
    if (envFile !== undefined) throw new ConfigError([`.env file ${file}: not found`]);
    return {};
  }
  return stripEmpty(parseDotenv(readFileSync(file)));
}

/** An empty variable counts as unset, so `FOO=` in a shell does not trip validation. */
function stripEmpty(env: NodeJS.ProcessEnv | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

const secret = (v: string | undefined) => (v === undefined ? undefined : new Secret(v));

function toConfig(raw: RawEnv, cwd: string): Config {
  const lmsUrl = raw.LMS_URL?.replace(/\/+$/, '');
  const blackboard = raw.LMS === 'blackboard';
  const blackboardOauth = lmsUrl ? `${lmsUrl}/learn/api/public/v1/oauth2` : undefined;
  return {
    redisUrl: new Secret(raw.REDIS_URL),
    queuePrefix: raw.QUEUE_PREFIX,
    lms: raw.LMS,
    lmsUrl,
    authMode: raw.AUTH_MODE ?? (blackboard ? 'client-credentials' : 'refresh-token'),
    oauth: {
      clientId: raw.OAUTH_CLIENT_ID,
      clientSecret: secret(raw.OAUTH_CLIENT_SECRET),
      scope: raw.OAUTH_SCOPE ?? (blackboard ? '' : 'core:*:*'),
      tokenUrl:
        raw.OAUTH_TOKEN_URL ??
        (blackboard ? blackboardOauth && `${blackboardOauth}/token` : BRIGHTSPACE_TOKEN_URL),
      authorizeUrl:
        raw.OAUTH_AUTHORIZE_URL ??
        (blackboard ? blackboardOauth && `${blackboardOauth}/authorizationcode` : BRIGHTSPACE_AUTHORIZE_URL),
      refreshToken: secret(raw.OAUTH_REFRESH_TOKEN),
      privateKeyFile: raw.OAUTH_PRIVATE_KEY_FILE,
      keyId: raw.OAUTH_KEY_ID,
    },
    lmsUsername: raw.LMS_USERNAME,
    lmsPassword: secret(raw.LMS_PASSWORD),
    downloadStrategy: raw.DOWNLOAD_STRATEGY,
    outputDir: path.resolve(cwd, raw.OUTPUT_DIR),
    secretsKey: secret(raw.SECRETS_KEY),
    chromiumPath: raw.CHROMIUM_PATH ?? (existsSync(DEFAULT_CHROMIUM) ? DEFAULT_CHROMIUM : undefined),
    board: {
      user: raw.BOARD_USER,
      password: secret(raw.BOARD_PASSWORD),
      port: raw.BOARD_PORT,
      host: raw.BOARD_HOST,
    },
    logLevel: raw.LOG_LEVEL,
    concurrency: { discover: raw.DISCOVER_CONCURRENCY, download: raw.DOWNLOAD_CONCURRENCY },
  };
}

function missingFor(config: Config, needs: readonly ConfigNeed[]): string[] {
  const problems: string[] = [];
  const need = (ok: unknown, name: string, expected: string) => {
    if (!ok) problems.push(`${name}: ${expected} (it is not set)`);
  };
  if (needs.includes('lms')) {
    need(config.lmsUrl, 'LMS_URL', 'expected the LMS base URL, e.g. https://school.brightspace.com');
    need(config.oauth.clientId, 'OAUTH_CLIENT_ID', 'expected the OAuth2 client id of the registered app');
    if (config.authMode === 'client-credentials' && config.lms === 'brightspace') {
      need(
        config.oauth.privateKeyFile,
        'OAUTH_PRIVATE_KEY_FILE',
        'expected a PEM private key for client-credentials with a private-key JWT',
      );
      need(config.oauth.keyId, 'OAUTH_KEY_ID', 'expected the key id (kid) registered in the JWKS');
    } else {
      need(config.oauth.clientSecret, 'OAUTH_CLIENT_SECRET', 'expected the OAuth2 client secret');
    }
  }
  if (needs.includes('browser-login')) {
    need(config.lmsUsername, 'LMS_USERNAME', "expected the service user's web login name");
    need(config.lmsPassword, 'LMS_PASSWORD', "expected the service user's web password");
  }
  if (needs.includes('board-auth')) {
    need(config.board.user, 'BOARD_USER', 'expected a user name for the dashboard');
    need(config.board.password, 'BOARD_PASSWORD', 'expected a password for the dashboard');
  }
  if (needs.includes('secrets-key')) {
    need(config.secretsKey, 'SECRETS_KEY', 'expected 32 random bytes in base64 (openssl rand -base64 32)');
  }
  return problems;
}
