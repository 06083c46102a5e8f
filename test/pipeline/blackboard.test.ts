import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { learnCallsToday } from '../../src/lms/blackboard/index.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { startWorker } from '../../jobs/worker.ts';
import { createLogger } from '../../src/log/index.ts';
import { learnUuid } from '@certharvest/sandbox/learn';
import { certificatePaths } from '../../src/storage/certificate-path.ts';
import { keysMatching, runCli } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** Every key and value under the pipeline's prefix, as one string. */
async function dumpRedis(pipe: Pipeline): Promise<string> {
  const parts: string[] = [];
  for (const key of await keysMatching(pipe.redis, `${pipe.config.queuePrefix}*`)) {
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
    const certs = await expectLearnStoredWhole(p, users);
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
    const redis2 = await connectRedis(p.config);
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
      expect(status.certsStored).toBe(await expectLearnStoredWhole(p, users));
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
    expect(status.certsStored).toBe(await expectLearnStoredWhole(p, users, 'n1', { titles: false }));
    for (const f of status.failures)
      expect(f.code).toMatch(/^(LMS_DATA_INVALID|ID_UNSAFE|REDIRECT_OFF_HOST)$/);
    // The HTML-injection title is kept as text in the sidecar, never as markup that ran.
    const logs = p.logs.join('');
    expect(logs).not.toContain(p.sandbox.learnEnv.LMS_PASSWORD);
  }, 120_000);

  it('harvests another markup (a table, signed path-style links) with ids that are not _N_1, by a site profile file alone', async () => {
    const profileFile = path.resolve(import.meta.dirname, '../../docs/examples/learn-table-profile.yaml');
    p = await startPipeline({
      lms: 'blackboard',
      knobs: { learnMarkup: 'table', learnIds: 'mixed', learnPageSize: 3 },
      env: { LMS_SITE_PROFILE: profileFile },
    });
    const { institution } = p.sandbox;
    const students = institution.students
      .filter((s) => institution.certificatesOf(s.UserId).length > 0)
      .slice(0, 6);
    // Both kinds of user id: _N_4 (even N) and _N_1 (odd N).
    expect(new Set(students.map((s) => s.UserId % 2)).size).toBe(2);
    const { batchId } = await p.submit({ by: 'userName', users: students.map((s) => s.UserName) });
    const status = await p.waitDone(batchId, 90_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    const stored = await expectLearnStoredWhole(
      p,
      students.map((s) => s.UserId),
      'mixed',
    );
    expect(stored).toBeGreaterThan(0);
    expect(status.certsStored).toBe(stored);
    // Every PDF came through the signed link its page showed.
    expect(p.sandbox.stats.learnCertificateDownloads).toBe(stored);
    expect(p.sandbox.stats.renderForbidden).toBe(0);
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
    expect(status.certsStored).toBe(await expectLearnStoredWhole(p, users));
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

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Every certificate of `users` is on disk, named by the Learn ids (strings) of the sandbox's id
 * style, with the sandbox's exact bytes and a sidecar holding those ids; returns how many.
 */
async function expectLearnStoredWhole(
  pipe: Pipeline,
  users: number[],
  style: 'n1' | 'mixed' = 'n1',
  { titles = true }: { titles?: boolean } = {},
): Promise<number> {
  const { institution } = pipe.sandbox;
  const ref = (n: number) => (style === 'mixed' && n % 2 === 0 ? `_${n}_4` : `_${n}_1`);
  const course = (n: number) => (style === 'mixed' ? learnUuid(institution.seed, 'course', n) : `_${n}_1`);
  let n = 0;
  for (const user of users) {
    for (const c of institution.certificatesOf(user)) {
      const ids = { userId: ref(c.UserId), orgUnitId: course(c.OrgUnitId), issuedId: ref(c.IssuedId) };
      const where = certificatePaths(pipe.outputDir, ids);
      expect(sha256(await readFile(where.pdf))).toBe(sha256(await pipe.sandbox.certificatePdf(c.IssuedId)));
      const sidecar = JSON.parse(await readFile(where.sidecar, 'utf8')) as Record<string, unknown>;
      expect(sidecar).toMatchObject({ ...ids, awardId: ref(c.Award.AwardId) });
      if (titles) expect(sidecar.title).toBe(c.Award.Title);
      n++;
    }
  }
  return n;
}

async function waitFor<T>(check: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
