/**
 * Chaos against a running fleet (slow: `npm run test:chaos`): worker processes killed with
 * SIGKILL, Redis restarted, the token revoked under two processes. Each test ends with every
 * certificate on disk once, byte-identical to the sandbox's, and no partial file anywhere.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../src/util/redis-server.ts';
import { partialFiles, runCli, sleepUntil, spawnCli, tempDir, type CliChild } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let p: Pipeline | undefined;
const children: CliChild[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await p?.close();
  p = undefined;
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Every certificate of `users` is stored once with the sandbox's bytes; nothing else is visible. */
async function expectAllStoredOnce(pipe: Pipeline, users: number[]): Promise<number> {
  const expected = new Set<string>();
  for (const u of users) {
    for (const c of pipe.sandbox.institution.certificatesOf(u)) {
      const rel = path.join(String(u), `${c.OrgUnitId}-${c.IssuedId}`);
      expected.add(`${rel}.pdf`).add(`${rel}.json`);
      const pdf = await readFile(path.join(pipe.outputDir, `${rel}.pdf`));
      expect(sha(pdf)).toBe(sha(await pipe.sandbox.certificatePdf(c.IssuedId)));
    }
  }
  // Besides certificates: the folder's marker and the batch manifests.
  const visible = (await filesUnder(pipe.outputDir)).filter(
    (f) => !f.startsWith('.partial') && !f.startsWith('_batches') && f !== '.certharvest-output.json',
  );
  expect(visible.sort()).toEqual([...expected].sort());
  return expected.size / 2;
}

const workerEnv = (pipe: Pipeline) => ({ ...pipe.env, LOG_LEVEL: 'info', DOWNLOAD_CONCURRENCY: '4' });

describe('chaos', () => {
  it('kill -9 of one of two worker processes mid-batch: every certificate once, the batch settles', async () => {
    p = await startPipeline({ worker: false, knobs: { latencyMs: 25 }, sandbox: { userCount: 60 } });
    const users = studentsWithCertificates(p.sandbox, 40);
    const [a, b] = [spawnCli(['worker'], workerEnv(p)), spawnCli(['worker'], workerEnv(p))];
    children.push(a, b);
    const submit = spawnCli(['submit', '--users', users.join(','), '--wait', '--batch-id', 'kill9'], {
      ...p.env,
      LOG_LEVEL: 'warn',
    });
    children.push(submit);
    await sleepUntil(() => p!.sandbox.stats.renderPdf >= 15, 60_000);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    expect(await submit.exited).toBe(0);
    const tookMs = Date.now() - killedAt;
    const certs = await expectAllStoredOnce(p, users);
    const status = await p.tracker.status('kill9');
    expect(status).toMatchObject({ done: true, usersFailed: 0, certsFailed: 0 });
    expect(status!.certsStored + status!.certsAlreadyStored).toBe(certs);
    console.warn(
      `kill -9: batch settled ${(tookMs / 1000).toFixed(1)} s after the kill (${certs} certificates)`,
    );
    expect(tookMs).toBeLessThan(75_000); // a killed worker's jobs are taken over within ~30 s

    // What the killed worker left in .partial is swept by the next worker's start-up.
    b.child.kill('SIGTERM');
    await b.exited;
    const c = spawnCli(['worker'], workerEnv(p));
    children.push(c);
    await sleepUntil(() => /worker started/.test(c.stdout()), 60_000);
    expect(await partialFiles(p.outputDir)).toEqual([]);
  }, 240_000);

  it('Redis restarted mid-batch (AOF on): everything stored', async () => {
    const dir = await tempDir('certharvest-aof');
    cleanups.push(dir.cleanup);
    let redis: RedisServerHandle = await startRedisServer({ persist: true, dir: dir.dir });
    const port = redis.port;
    cleanups.push(() => redis.stop());
    p = await startPipeline({ redisUrl: redis.url, knobs: { latencyMs: 25 }, sandbox: { userCount: 50 } });
    const users = studentsWithCertificates(p.sandbox, 30);
    const { batchId } = await p.submit({ users });
    await sleepUntil(() => p!.sandbox.stats.renderPdf >= 10, 60_000);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    redis = await startRedisServer({ persist: true, dir: dir.dir, port });
    const status = await p.waitDone(batchId, 150_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    const certs = await expectAllStoredOnce(p, users);
    expect(status.certsStored + status.certsAlreadyStored).toBe(certs);
  }, 240_000);

  it('a token revoked under two worker processes, no web login to heal it: one pause line, 0 failed, completes after bootstrap', async () => {
    p = await startPipeline({
      worker: false,
      knobs: { latencyMs: 40, pdfApi: true },
      sandbox: { userCount: 50 },
      // Downloads through the bearer /pdf route, no service-user login: nothing heals the token.
      env: { DOWNLOAD_STRATEGY: 'api', LMS_USERNAME: '', LMS_PASSWORD: '' },
    });
    const users = studentsWithCertificates(p.sandbox, 30);
    const [a, b] = [spawnCli(['worker'], workerEnv(p)), spawnCli(['worker'], workerEnv(p))];
    children.push(a, b);
    const submit = spawnCli(['submit', '--users', users.join(','), '--wait', '--batch-id', 'revoke2'], {
      ...p.env,
      LOG_LEVEL: 'warn',
    });
    children.push(submit);
    await sleepUntil(async () => ((await p!.tracker.status('revoke2'))?.usersDone ?? 0) >= 3, 60_000);
    await p.sandbox.revokeRefreshTokens({ accessTokens: true });
    await sleepUntil(() => p!.breaker.current(), 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const failedJobs = [
      ...(await p.queues.discover.getJobs(['failed'])),
      ...(await p.queues.download.getJobs(['failed'])),
    ];
    expect(failedJobs.map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
    const pauseLines = (a.stdout() + b.stdout()).split('\n').filter((l) => l.includes('fleet paused'));
    expect(pauseLines).toHaveLength(1);

    const bootstrap = await runCli(
      ['auth', 'bootstrap', '--refresh-token', await p.sandbox.issueRefreshToken()],
      { ...p.env, LOG_LEVEL: 'warn' },
    );
    expect(bootstrap.code).toBe(0);
    expect(await submit.exited).toBe(0);
    await expectAllStoredOnce(p, users);
  }, 240_000);

  it('three worker processes and no expiry: exactly one login for the whole fleet', async () => {
    p = await startPipeline({ worker: false, knobs: { latencyMs: 25 }, sandbox: { userCount: 40 } });
    const users = studentsWithCertificates(p.sandbox, 25);
    const workers = [0, 1, 2].map(() => spawnCli(['worker'], workerEnv(p!)));
    children.push(...workers);
    for (const w of workers) await sleepUntil(() => /worker started/.test(w.stdout()), 60_000);
    const submit = await runCli(['submit', '--users', users.join(','), '--wait', '--batch-id', 'three'], {
      ...p.env,
      LOG_LEVEL: 'warn',
    });
    expect(submit.code).toBe(0);
    await expectAllStoredOnce(p, users);
    expect(p.sandbox.stats.webLogins).toBe(1);
  }, 240_000);
});
