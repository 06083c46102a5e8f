/**
 * `certharvest schedule` end to end: the sandbox, real Redis, in-process workers. Each firing of a
 * schedule submits one batch (`<name>-<firing time>`) through `submitBatch`, whatever the number
 * of workers; a removed schedule fires no more. No assertion is about time: tests wait for events
 * (a batch recorded, a batch done, a file on disk), with generous limits for a loaded machine.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { createLogger } from '../../src/log/index.ts';
import { connectRedis, getSchedule, type ScheduleInfo } from '../../src/queue/index.ts';
import type { FiringResult } from '../../jobs/scheduled-batches.ts';
import { sleepUntil, tempDir, testRedisIsCluster } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from '../pipeline/harness.ts';
import { cliInProcess } from './in-process-cli.ts';

/** How long a wait may last before the test gives up (not an assertion about speed). */
const PATIENCE_MS = 180_000;
const TEST_TIMEOUT_MS = 400_000;

let p: Pipeline;
let files: Awaited<ReturnType<typeof tempDir>>;
/** Students with certificates, each used by one test only (what one stores, another must not find). */
let withCerts: number[];
beforeAll(async () => {
  p = await startPipeline();
  files = await tempDir('sched-files');
  withCerts = studentsWithCertificates(p.sandbox, 6);
  expect(withCerts).toHaveLength(6);
}, TEST_TIMEOUT_MS);
afterAll(async () => {
  await p?.close();
  await files?.cleanup();
});

const cli = (...args: string[]) => cliInProcess(['schedule', ...args], { ...p.env, LOG_LEVEL: 'warn' });
const deps = () => ({ queue: p.queues.schedules, redis: p.redis, prefix: p.config.queuePrefix });
const schedule = (name: string) => getSchedule(name, deps());
const listJson = async (): Promise<ScheduleInfo[]> => {
  const run = await cli('list', '--json');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { schedules: ScheduleInfo[] }).schedules;
};
/** The batch ids of a schedule's firings so far (from the batch index). */
const batchesOf = async (name: string) =>
  (await p.tracker.recent(10_000)).map((b) => b.batchId).filter((id) => id.startsWith(`${name}-`));
/** Wait for a schedule's last batch to be another one than `not`. */
const nextBatch = (name: string, not: string[] = []) =>
  sleepUntil(
    async () => {
      const id = (await schedule(name))?.last?.batchId;
      return id && !not.includes(id) ? id : undefined;
    },
    PATIENCE_MS,
    100,
  );
/** Remove a schedule, then wait until none of its firings is left to run. */
async function removeAndSettle(name: string): Promise<void> {
  const run = await cli('remove', name);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain(`removed schedule ${name}`);
  await sleepUntil(
    async () =>
      (await p.queues.schedules.getJobs(['active', 'wait', 'delayed', 'prioritized'])).every(
        (j) => j.name !== name,
      ),
    PATIENCE_MS,
  );
}

describe('schedule add --every: each firing submits a batch', () => {
  it(
    'runs a batch that completes with every certificate, shows in the list with its next run, and stops when removed',
    async () => {
      const users = withCerts.slice(0, 3);
      const certs = users.flatMap((u) => p.sandbox.institution.certificatesOf(u));
      const add = await cli('add', '--name', 'every2s', '--every', '2s', ...users.map(String));
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain('added schedule every2s: every 2s, 3 user(s)');

      const first = await nextBatch('every2s');
      expect(first).toMatch(/^every2s-\d{8}T\d{6}Z$/);
      expect(await p.waitDone(first, PATIENCE_MS)).toMatchObject({
        usersTotal: 3,
        usersDone: 3,
        usersFailed: 0,
        certsFound: certs.length,
        certsStored: certs.length,
        certsFailed: 0,
      });
      // The next firing is another batch of the same users: all already stored by then.
      const second = await nextBatch('every2s', [first]);
      const again = await p.waitDone(second, PATIENCE_MS);
      expect(again.certsStored + again.certsAlreadyStored).toBe(certs.length);
      expect(again.certsFailed).toBe(0);

      const listed = (await listJson()).find((s) => s.name === 'every2s');
      expect(listed).toMatchObject({ every: 2_000, template: { users: users.map(String), allUsers: false } });
      expect(Number.isNaN(Date.parse(listed!.next!))).toBe(false);
      expect(listed!.last!.batchId).toMatch(/^every2s-/);
      const table = await cli('list');
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(
        /^every2s\s+every 2s\s+(in \d+s|due now)\s+every2s-\d{8}T\d{6}Z\s+(running|done)$/m,
      );
      for (const line of table.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

      await removeAndSettle('every2s');
      expect(await p.queues.schedules.getJobScheduler('every2s')).toBeUndefined();
      expect((await listJson()).map((s) => s.name)).not.toContain('every2s');
      // It stays stopped: while another schedule fires three times, no batch of it appears.
      const before = await batchesOf('every2s');
      const tick = await cli('add', '--name', 'tick', '--every', '1s', String(users[0]));
      expect(tick.code, tick.stderr).toBe(0);
      const ticks: string[] = [];
      for (let i = 0; i < 3; i++) ticks.push(await nextBatch('tick', ticks));
      expect(await batchesOf('every2s')).toEqual(before);
      await removeAndSettle('tick');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with two workers, one batch per firing',
    async () => {
      const redis = await connectRedis(p.config);
      let second: WorkerHandle | undefined;
      try {
        second = await startWorker({
          config: p.config,
          logger: createLogger({ level: 'warn' }),
          redis,
          tuning: TEST_TUNING,
        });
        // BullMQ counts workers from one node's CLIENT LIST; on a cluster it picks the node with the
        // most connections, which need not hold both workers' (the firings below are the test).
        if (!testRedisIsCluster())
          expect(await p.queues.schedules.getWorkersCount()).toBeGreaterThanOrEqual(2);
        const user = withCerts[5]!;
        const add = await cli('add', '--name', 'twin', '--every', '1s', String(user));
        expect(add.code, add.stderr).toBe(0);
        const seen: string[] = [];
        for (let i = 0; i < 5; i++) seen.push(await nextBatch('twin', seen));
        await removeAndSettle('twin');

        const jobs = (await p.queues.schedules.getJobs(['completed', 'failed'])).filter(
          (j) => j.name === 'twin',
        );
        expect(jobs.filter((j) => j.failedReason)).toEqual([]);
        const results = jobs
          .map((j) => j.returnvalue as FiringResult)
          .filter((r): r is Extract<FiringResult, { batchId: string }> => 'batchId' in r);
        // No firing ran twice (a second run would find its batch there already)...
        expect(results.filter((r) => r.alreadySubmitted)).toEqual([]);
        // ...and each firing made exactly one batch: as many batches as firings, the same ids.
        const firings = results.map((r) => r.batchId).sort();
        expect(new Set(firings).size).toBe(firings.length);
        expect((await batchesOf('twin')).sort()).toEqual(firings);
        expect(firings.length).toBeGreaterThanOrEqual(5);
      } finally {
        await second?.stop(5_000);
        await redis.quit();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('schedule add --from-file', () => {
  it(
    'reads the file at each firing; a missing file fails that firing’s batch naming it, and the worker goes on',
    async () => {
      const missing = path.join(files.dir, 'missing.csv');
      const add = await cli('add', '--name', 'nofile', '--every', '1h', '--from-file', missing);
      expect(add.code, add.stderr).toBe(0);
      expect(add.stderr).toContain(`--from-file ${missing}: cannot read it here (ENOENT)`);
      const failed = await sleepUntil(
        async () => {
          const s = await schedule('nofile');
          return s?.last?.state === 'error' ? s.last : undefined;
        },
        PATIENCE_MS,
        100,
      );
      expect(failed.error).toContain(`cannot read the user file ${missing} (ENOENT)`);
      const batch = await p.waitDone(failed.batchId, PATIENCE_MS);
      expect(batch).toMatchObject({ usersTotal: 1, usersFailed: 1 });
      expect(batch.failures).toEqual([
        expect.objectContaining({ code: 'SCHEDULE_USER_FILE_UNREADABLE', ref: missing }),
      ]);
      const [job] = await p.queues.schedules.getJobs(['failed']);
      expect(job?.failedReason).toContain(missing);
      await removeAndSettle('nofile');

      // A file the worker reads again at each firing: a user added to it is harvested.
      const [first, later] = withCerts.slice(3, 5);
      const cohort = path.join(files.dir, 'cohort.csv');
      await writeFile(cohort, `userId\n${first}\n`);
      const ok = await cli('add', '--every', '1s', '--from-file', cohort);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`added schedule cohort: every 1s, the users of ${cohort}`);
      const done = await p.waitDone(await nextBatch('cohort'), PATIENCE_MS);
      expect(done).toMatchObject({ usersTotal: 1, usersFailed: 0, certsFailed: 0 });
      const laterCerts = p.sandbox.institution.certificatesOf(later!);
      const stored = (c: (typeof laterCerts)[number]) =>
        existsSync(path.join(p.outputDir, String(later), `${c.OrgUnitId}-${c.IssuedId}.pdf`));
      expect(laterCerts.filter(stored)).toEqual([]);
      await writeFile(cohort, `userId\n${first}\n${later}\n`);
      await sleepUntil(
        () =>
          laterCerts.every((c) =>
            existsSync(path.join(p.outputDir, String(later), `${c.OrgUnitId}-${c.IssuedId}.pdf`)),
          ),
        PATIENCE_MS,
        100,
      );
      await removeAndSettle('cohort');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('schedule add --cron', () => {
  it('keeps the template (all users, filters) and its time zone; no secret in the job data', async () => {
    const add = await cli(
      'add',
      '--all-users',
      '--cron',
      '0 3 1 1 *',
      '--tz',
      'Europe/Paris',
      '--skip-expired',
      '--org-unit',
      '6606,6610',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('added schedule all-users: cron 0 3 1 1 * Europe/Paris, all users');
    const listed = (await listJson()).find((s) => s.name === 'all-users');
    expect(listed).toMatchObject({
      cron: '0 3 1 1 *',
      tz: 'Europe/Paris',
      template: { allUsers: true, filters: { includeExpired: false, orgUnitIds: [6606, 6610] } },
    });
    // 03:00 in Paris is 02:00 UTC in January.
    expect(listed!.next).toMatch(/^\d{4}-01-01T02:00:00\.000Z$/);
    expect(listed!.last).toBeUndefined();
    const table = await cli('list');
    expect(table.stdout).toMatch(/^all-users\s+0 3 1 1 \* Europe\/Paris\s+in \d+d \d+h\s+-\s+-$/m);

    const stored = JSON.stringify(await p.queues.schedules.getJobSchedulers());
    const secrets = Object.entries(p.env)
      .filter(([k, v]) => /SECRET|TOKEN|PASSWORD/.test(k) && v.length >= 8)
      .map(([, v]) => v);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(stored).not.toContain(secret);
    await removeAndSettle('all-users');
  });
});
