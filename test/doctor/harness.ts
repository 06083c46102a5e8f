/** A sandbox LMS, a Redis and an OUTPUT_DIR for `certharvest doctor` tests; each run gets its own prefix. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { SealedBox, TokenStore } from '../../src/auth/index.ts';
import { SessionStore } from '../../src/browser/index.ts';
import { Secret } from '../../src/config/index.ts';
import type { CheckResult, DoctorReport } from '../../src/doctor/index.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { DEFAULT_KNOBS, startSandbox, type Sandbox, type SandboxKnobs } from '@certharvest/sandbox';
import { startRedisServer } from '../../src/util/redis-server.ts';
import { tempDir, uniquePrefix } from '../helpers/index.ts';

/** The sandbox as the tests leave it between runs: the bearer /pdf route on. */
export const BASE_KNOBS: Partial<SandboxKnobs> = { ...DEFAULT_KNOBS, pdfApi: true };

/** Environment entries that switch the web login off (an empty variable counts as unset). */
export const NO_WEB_LOGIN = { LMS_USERNAME: '', LMS_PASSWORD: '' } as const;

export interface DoctorBench {
  sb: Sandbox;
  /** A private redis-server with AOF on (so the Redis check passes whole). */
  redisUrl: string;
  redis: Redis;
  /** The worker configuration for the sandbox: a new prefix, refresh token and SECRETS_KEY each call. */
  envFor(extra?: Record<string, string>): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function startDoctorBench(): Promise<DoctorBench> {
  const sb = await startSandbox({ userCount: 12, knobs: BASE_KNOBS });
  const server = await startRedisServer({ persist: true });
  const redis = await connectRedis(server.url);
  const out = await tempDir('doctor-out');
  return {
    sb,
    redisUrl: server.url,
    redis,
    async envFor(extra = {}) {
      const prefix = uniquePrefix('doctor');
      return {
        ...sb.env,
        OAUTH_REFRESH_TOKEN: await sb.issueRefreshToken(),
        REDIS_URL: server.url,
        QUEUE_PREFIX: prefix,
        SECRETS_KEY: randomBytes(32).toString('base64'),
        OUTPUT_DIR: path.join(out.dir, prefix),
        ...extra,
      };
    },
    async close() {
      await redis.quit();
      await server.stop();
      await sb.close();
      await out.cleanup();
    },
  };
}

export const byName = (report: Pick<DoctorReport, 'checks'>): Record<string, CheckResult> =>
  Object.fromEntries(report.checks.map((c) => [c.name, c]));

/** A student with a certificate, and that certificate. */
export function certificateOwner(sb: Sandbox): { userId: number; issuedId: number; orgUnitId: number } {
  for (const s of sb.institution.students) {
    const cert = sb.institution.certificatesOf(s.UserId)[0];
    if (cert) return { userId: s.UserId, issuedId: cert.IssuedId, orgUnitId: cert.OrgUnitId };
  }
  throw new Error('the sandbox has no certificate');
}

/** The fleet's web session, as the workers would read it. */
export function fleetSession(redis: Redis, env: Record<string, string>) {
  return new SessionStore({
    redis,
    box: SealedBox.fromSecret(secret(env.SECRETS_KEY!)),
    host: new URL(env.LMS_URL!).host,
    keyPrefix: env.QUEUE_PREFIX!,
  }).read();
}

/** Every secret a doctor run with `env` had in hand: configuration, stored tokens, session cookies. */
export async function secretsOf(redis: Redis, env: Record<string, string>): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  for (const name of [
    'LMS_PASSWORD',
    'OAUTH_CLIENT_SECRET',
    'OAUTH_REFRESH_TOKEN',
    'SECRETS_KEY',
    'LMS_TOTP_SECRET',
  ]) {
    if (env[name]) secrets[name] = env[name];
  }
  const token = await new TokenStore({
    redis,
    box: SealedBox.fromSecret(secret(env.SECRETS_KEY!)),
    host: new URL(env.LMS_URL!).host,
    clientId: env.OAUTH_CLIENT_ID!,
    keyPrefix: env.QUEUE_PREFIX!,
  }).read();
  if (token?.accessToken) secrets.accessToken = token.accessToken;
  if (token?.refreshToken) secrets.refreshToken = token.refreshToken;
  for (const c of (await fleetSession(redis, env))?.cookies ?? []) {
    if (c.value.length >= 8) secrets[`cookie ${c.name}`] = c.value;
  }
  return secrets;
}

const secret = (value: string) => new Secret(value);

/** The doctor's steps on Brightspace, in order: the shared ones around the module's own. */
export const BRIGHTSPACE_CHECK_NAMES = [
  'configuration',
  'redis',
  'fleet',
  'token',
  'api versions',
  'whoami',
  'user lookup',
  'awards',
  'pdf route',
  'chromium',
  'web login',
  'render',
  'output dir',
];
