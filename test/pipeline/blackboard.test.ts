import { afterEach, describe, expect, it } from 'vitest';
import { learnCallsToday } from '../../src/lms/index.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { startWorker } from '../../jobs/worker.ts';
import { createLogger } from '../../src/log/index.ts';
import { runCli } from '../helpers/index.ts';
import {
  expectAllStoredWhole,
  startPipeline,
  studentsWithCertificates,
  TEST_TUNING,
  type Pipeline,
} from './harness.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** Every key and value under the pipeline's prefix, as one string. */
async function dumpRedis(pipe: Pipeline): Promise<string> {
  const parts: string[] = [];
  for (const key of await pipe.redis.keys(`${pipe.config.queuePrefix}*`)) {
    const type = await pipe.redis.type(key);
    if (type === 'string') parts.push((await pipe.redis.getBuffer(key))?.toString('latin1') ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await pipe.redis.hgetall(key)));
    else if (type === 'list') parts.push(JSON.stringify(await pipe.redis.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(JSON.stringify(await pipe.redis.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await pipe.redis.zrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await pipe.redis.xrange(key, '-', '+')));
    parts.push(key);
  }
  return parts.join('\n');
}

describe('Blackboard Learn, end to end against the sandbox', () => {
  it('lands every certificate once and byte-identical, through memberships paging and the Achievements pages', async () => {
    // Pages of 2 memberships: every user's courses take several pages (paging.nextPage).
    p = await startPipeline({ lms: 'blackboard', knobs: { learnPageSize: 2 } });
    const users = studentsWithCertificates(p.sandbox, 8);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId, 90_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    const certs = await expectAllStoredWhole(p, users);
    expect(status.certsStored).toBe(certs);
    expect(p.sandbox.stats.learnCertificateDownloads).toBe(certs);
    expect(p.sandbox.stats.learnWebLogins).toBe(1);
    // The fleet counts its Learn REST calls per day (the 10,000-a-day quota), shown by auth status.
    const counted = await learnCallsToday(p.redis, p.config.queuePrefix);
    expect(counted).toBeGreaterThanOrEqual(users.length);
    expect(counted).toBeLessThanOrEqual(p.sandbox.stats.learnRestCalls);
    // Learn's secrets never leave in plain text: not in Redis (the token and BbRouter cookie are
    // sealed), not in the logs.
    const dump = await dumpRedis(p);
    const logs = p.logs.join('');
    for (const secret of [p.env.OAUTH_CLIENT_SECRET!, p.env.LMS_PASSWORD!]) {
      expect(dump.includes(secret)).toBe(false);
      expect(logs.includes(secret)).toBe(false);
    }
    for (const text of [dump, logs]) expect(text).not.toMatch(/BbRouter=|expires:\d+,id:/);
    // By user name and by externalId (org-defined id): the same certificates, already stored.
    const byName = p.sandbox.institution.students.find((s) => s.UserId === users[0])!;
    const again = await p.submit({ by: 'userName', users: [byName.UserName] });
    const second = await p.waitDone(again.batchId, 60_000);
    expect(second.certsAlreadyStored).toBe(p.sandbox.institution.certificatesOf(byName.UserId).length);
    expect(p.sandbox.stats.learnCertificateDownloads).toBe(certs);
    const byExternal = await p.submit({ by: 'orgDefinedId', users: [byName.OrgDefinedId, 'nobody-here'] });
    const third = await p.waitDone(byExternal.batchId, 60_000);
    expect(third.usersFailed).toBe(1);
    expect(third.failures[0]).toMatchObject({ kind: 'user', code: 'LMS_USER_NOT_FOUND' });
  }, 150_000);

  it('two worker processes share one Learn token, and the session survives expiries with about one login each', async () => {
    p = await startPipeline({ lms: 'blackboard', knobs: { sessionMaxRequests: 6, latencyMs: 20 } });
    const redis2 = await connectRedis(p.config.redisUrl);
    const second = await startWorker({
      config: p.config,
      logger: createLogger({ level: 'silent' }),
      redis: redis2,
      tuning: TEST_TUNING,
    });
    try {
      const users = studentsWithCertificates(p.sandbox, 12);
      const { batchId } = await p.submit({ users });
      const status = await p.waitDone(batchId, 120_000);
      expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
      expect(status.certsStored).toBe(await expectAllStoredWhole(p, users));
      // One client-credentials token for the fleet (asked again it would be the same one).
      expect(p.sandbox.stats.learnTokensIssued).toBe(1);
      const expiries = p.sandbox.stats.sessionsExpired.maxRequests;
      expect(expiries).toBeGreaterThan(0);
      expect(p.sandbox.stats.learnWebLogins).toBeLessThanOrEqual(expiries + 2);
      expect(p.sandbox.stats.learnFailedLogins).toBe(0);
    } finally {
      await second.stop(5_000);
      await redis2.quit();
    }
  }, 180_000);

  it('hostile Achievements data fails those items alone; the rest lands', async () => {
    p = await startPipeline({ lms: 'blackboard', knobs: { learnHostile: true } });
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId, 90_000);
    expect(status.usersFailed).toBe(0);
    expect(status.certsFailed).toBeGreaterThan(0);
    expect(status.certsStored).toBe(await expectAllStoredWhole(p, users));
    for (const f of status.failures)
      expect(f.code).toMatch(/^(LMS_DATA_INVALID|ID_UNSAFE|REDIRECT_OFF_HOST)$/);
    // The HTML-injection title is kept as text in the sidecar, never as markup that ran.
    const logs = p.logs.join('');
    expect(logs).not.toContain(p.sandbox.learnEnv.LMS_PASSWORD);
  }, 120_000);

  it('three-legged where a site needs user context: auth bootstrap --via-session gets an offline refresh token, and a batch runs on it', async () => {
    p = await startPipeline({ lms: 'blackboard', worker: false, env: { AUTH_MODE: 'refresh-token' } });
    expect(p.config.lms.auth.scope).toBe('read offline');
    const run = await runCli(['auth', 'bootstrap', '--via-session'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/state: +valid/);
    expect(run.stdout).not.toContain(p.env.LMS_PASSWORD!);
    await p.startWorker();
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId, 90_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    expect(status.certsStored).toBe(await expectAllStoredWhole(p, users));
  }, 120_000);

  it('a refused Learn password pauses the fleet once: posted once, no job failed', async () => {
    p = await startPipeline({ lms: 'blackboard', env: { LMS_PASSWORD: 'not-the-password' } });
    const users = studentsWithCertificates(p.sandbox, 4);
    const { batchId } = await p.submit({ users });
    const pause = await waitFor(() => p!.breaker.current(), 60_000);
    expect(pause.reason).toBe('LOGIN_REFUSED');
    const status = await p.tracker.status(batchId);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0, done: false });
    expect(p.sandbox.stats.learnFailedLogins).toBe(1);
  }, 90_000);
});

async function waitFor<T>(check: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
