/**
 * One brain for the fleet, in-process against the sandbox, real Redis and real Chromium: batches
 * settle from job outcomes whatever ends a job, waits cost no attempt, and conditions that hit
 * every job pause the fleet instead of failing jobs one by one.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../jobs/worker.ts';
import { Secret } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { DISCOVER_QUEUE, USERS_PER_DISCOVER_JOB } from '../../src/queue/index.ts';
import { captureLogger, runCli, sleepUntil, spawnCli } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
const extra: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const e of extra.splice(0)) await e.stop().catch(() => {});
  await p?.close();
  p = undefined;
});

const failedJobs = async (pipe: Pipeline) =>
  (await pipe.queues.discover.getFailedCount()) + (await pipe.queues.download.getFailedCount());
const certificatesOf = (pipe: Pipeline, users: number[]) =>
  users.reduce((n, u) => n + pipe.sandbox.institution.certificatesOf(u).length, 0);

describe('batch accounting from job outcomes', () => {
  it('settles two overlapping batches submitted at once, each with its own counts', async () => {
    p = await startPipeline();
    const users = studentsWithCertificates(p.sandbox, 8);
    const [a, b] = await Promise.all([
      p.submit({ users: users.slice(0, 6) }),
      p.submit({ users: users.slice(2, 8) }),
    ]);
    const [sa, sb] = await Promise.all([p.waitDone(a.batchId), p.waitDone(b.batchId)]);
    for (const [s, mine] of [
      [sa, users.slice(0, 6)],
      [sb, users.slice(2, 8)],
    ] as const) {
      expect(s.certsFound).toBe(certificatesOf(p, [...mine]));
      expect(s.certsStored + s.certsAlreadyStored).toBe(s.certsFound);
      expect(s.certsFailed).toBe(0);
    }
    // Shared certificates were downloaded once, for both batches.
    expect(p.sandbox.stats.renderPdf).toBe(certificatesOf(p, users));
  });

  it('settles a batch whose job data does not parse, with the reason', async () => {
    p = await startPipeline({ worker: false });
    // Two discover jobs: a full one, and one of the last user, whose data is broken.
    const users = studentsWithCertificates(p.sandbox, USERS_PER_DISCOVER_JOB + 1);
    const { batchId } = await p.submit({ users });
    const job = await p.queues.discover.getJob(`${batchId}.users.2`);
    await job!.updateData({ kind: 'users', batchId, by: 'userId', values: [''] } as never); // fails the schema
    await p.startWorker();
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ usersDone: USERS_PER_DISCOVER_JOB, usersFailed: 1 });
    expect(status.failures).toEqual([
      expect.objectContaining({
        kind: 'user',
        code: 'JOB_DATA_INVALID',
        reason: expect.stringMatching(/value/),
      }),
    ]);
  });

  it(
    'settles a batch whose discover job the stalled checker failed, with the reason',
    { timeout: 120_000 },
    async () => {
      p = await startPipeline({ worker: false, tuning: { maxStalledCount: 0, stalledIntervalMs: 500 } });
      // A worker that takes one user (whose job downloads that user's certificates) and then dies
      // without a word (its lock is never renewed).
      const rogueConnection = p.redis.duplicate();
      const rogue = new Worker(DISCOVER_QUEUE, () => new Promise<never>(() => {}), {
        connection: rogueConnection,
        prefix: p.config.queuePrefix,
        lockDuration: 1_000,
        concurrency: 1,
      });
      let taken: number[] | undefined;
      rogue.on('active', (job) => (taken ??= (job.data.values as string[]).map(Number)));
      // Two discover jobs: the rogue takes one (its users fail with it), the worker the other.
      const users = studentsWithCertificates(p.sandbox, USERS_PER_DISCOVER_JOB + 2);
      const { batchId } = await p.submit({ users });
      await sleepUntil(() => taken, 20_000);
      await p.startWorker();
      rogueConnection.disconnect(); // its lock is never renewed again, as if the process died
      await rogue.close(true);
      const status = await p.waitDone(batchId, 90_000);
      const lost = taken!.length;
      expect(status).toMatchObject({ usersFailed: lost, usersDone: users.length - lost, certsFailed: 0 });
      expect(status.certsStored).toBe(certificatesOf(p, users) - certificatesOf(p, taken!));
      expect(status.failures).toHaveLength(lost);
      expect(status.failures).toEqual(
        taken!.map((id) =>
          expect.objectContaining({
            kind: 'user',
            ref: `userId ${id}`,
            code: 'JOB_STALLED',
            reason: expect.stringMatching(/stalled/),
          }),
        ),
      );
    },
  );

  it('waits out 429 and 503 with Retry-After on the render URL without spending an attempt', async () => {
    p = await startPipeline({ knobs: { renderThrottleFirst: 1, retryAfterSeconds: 1 } });
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    const certs = certificatesOf(p, users);
    expect(status).toMatchObject({ certsStored: certs, certsFailed: 0 });
    expect(p.sandbox.stats.renderThrottled).toBe(certs);
    const jobs = await p.queues.download.getJobs(['completed']);
    expect(jobs).toHaveLength(certs);
    for (const job of jobs) expect(job.attemptsMade).toBe(1); // the throttled try was not an attempt
  });
});

/** Downloads through the bearer /pdf route, no service-user login: nothing can heal a refused token. */
const NO_WEB_LOGIN = { DOWNLOAD_STRATEGY: 'api', LMS_USERNAME: '', LMS_PASSWORD: '' };

describe('the fleet breaker', () => {
  it('no web login to heal it: pauses on a revoked refresh token, fails nothing, completes after `auth bootstrap`', async () => {
    p = await startPipeline({ knobs: { latencyMs: 40, pdfApi: true }, env: NO_WEB_LOGIN });
    const users = studentsWithCertificates(p.sandbox, 14);
    const env = { ...p.env, LOG_LEVEL: 'warn' };
    const waiting = spawnCli(['submit', '--users', users.join(','), '--wait', '--batch-id', 'revoked'], env);
    // Revoke once the first users are discovered: the rest still need the API (and its token).
    await sleepUntil(async () => ((await p!.tracker.status('revoked'))?.usersDone ?? 0) >= 2, 30_000);
    await p.sandbox.revokeRefreshTokens({ accessTokens: true });

    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause.reason).toBe('AUTH_REFRESH_REFUSED');
    expect(pause.fix).toMatch(/certharvest auth bootstrap --refresh-token -/);
    await new Promise((r) => setTimeout(r, 1_500)); // let every in-flight job meet the dead token
    expect(await failedJobs(p)).toBe(0);
    expect(await p.queues.discover.isPaused()).toBe(true);
    const pauseLines = p.logs.filter((l) => l.includes('fleet paused'));
    expect(pauseLines).toHaveLength(1);
    expect(pauseLines[0]).toMatch(/auth bootstrap/);
    await sleepUntil(() => waiting.stdout().includes('PAUSED'), 10_000);

    // As the pause's fix says: the new token on stdin, out of shell history.
    const bootstrap = await runCli(
      ['auth', 'bootstrap', '--refresh-token', '-'],
      env,
      undefined,
      `${await p.sandbox.issueRefreshToken()}\n`,
    );
    expect(bootstrap.code).toBe(0);
    expect(bootstrap.stdout).toMatch(/fleet .*(resumed|running)/);
    expect(await p.breaker.current()).toBeNull();

    expect(await waiting.exited).toBe(0);
    expect(waiting.stdout().match(/PAUSED/g)).toHaveLength(1);
    const status = await p.tracker.status('revoked');
    expect(status).toMatchObject({
      done: true,
      usersFailed: 0,
      certsFailed: 0,
      certsStored: certificatesOf(p, users),
    });
    expect(await failedJobs(p)).toBe(0);
  }, 120_000);

  it('a token store sealed with another SECRETS_KEY: the worker starts paused (no crash loop); the right key resumes', async () => {
    p = await startPipeline({ worker: false });
    await p.startWorker();
    const first = await p.submit({ users: studentsWithCertificates(p.sandbox, 1) });
    await p.waitDone(first.batchId); // the token store is now sealed with the pipeline's key
    await p.worker.stop(2_000);
    const { logger } = captureLogger('warn');
    const wrongKey = { ...p.config, secretsKey: new Secret(randomBytes(32).toString('base64')) };
    const paused = await startWorker({
      config: wrongKey,
      logger,
      redis: p.redis,
      checks: true,
      tuning: TEST_TUNING,
    });
    extra.push({ stop: () => paused.stop(2_000) });
    expect(await p.breaker.current()).toMatchObject({
      reason: 'SECRETS_KEY_MISMATCH',
      fix: expect.stringMatching(/SECRETS_KEY/),
    });
    expect(await p.queues.download.isPaused()).toBe(true);
    await paused.stop(2_000);

    const right = await startWorker({
      config: p.config,
      logger,
      redis: p.redis,
      checks: true,
      tuning: TEST_TUNING,
    });
    extra.push({ stop: () => right.stop(2_000) });
    expect(await p.breaker.current()).toBeNull();
    const { batchId } = await p.submit({ users: studentsWithCertificates(p.sandbox, 2) });
    expect(await p.waitDone(batchId)).toMatchObject({ certsFailed: 0, usersFailed: 0 });
  });

  it('pauses on a refused password after one post, and a restart with the right one resumes it', async () => {
    p = await startPipeline({ env: { LMS_PASSWORD: 'not-the-password' } });
    const users = studentsWithCertificates(p.sandbox, 6);
    const { batchId } = await p.submit({ users });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause.reason).toBe('LOGIN_REFUSED');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(p.sandbox.stats.failedLogins).toBe(1); // never a lock-out loop
    expect(await failedJobs(p)).toBe(0);

    // The operator fixes the password and restarts the worker: its start-up probe logs in once.
    await p.worker.stop(2_000);
    const { logger } = captureLogger('warn');
    const fixed = await startWorker({
      config: {
        ...p.config,
        webLogin: { ...p.config.webLogin!, password: new Secret(p.sandbox.env.LMS_PASSWORD!) },
      },
      logger,
      redis: p.redis,
      checks: true,
      tuning: TEST_TUNING,
    });
    extra.push({ stop: () => fixed.stop(2_000) });
    expect(await p.breaker.current()).toBeNull();
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ certsFailed: 0, certsStored: certificatesOf(p, users) });
    expect(p.sandbox.stats.failedLogins).toBe(1);
  }, 90_000);

  it('pauses when Chromium cannot start; the start-up check names CHROMIUM_PATH', async () => {
    p = await startPipeline({ env: { CHROMIUM_PATH: '/bin/false' } });
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause).toMatchObject({
      reason: 'BROWSER_UNAVAILABLE',
      fix: expect.stringMatching(/CHROMIUM_PATH/),
    });
    expect(await failedJobs(p)).toBe(0);

    const { logger } = captureLogger('warn');
    const refused = await startWorker({ config: p.config, logger, redis: p.redis, checks: true }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems[0]).toMatch(/^CHROMIUM_PATH: could not start Chromium/);

    await p.worker.stop(2_000);
    const fixed = await startWorker({
      config: { ...p.config, chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
      logger,
      redis: p.redis,
      checks: true,
      tuning: TEST_TUNING,
    });
    extra.push({ stop: () => fixed.stop(2_000) });
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ certsFailed: 0, certsStored: certificatesOf(p, users) });
  }, 90_000);

  it('pauses when the LMS stays unreachable, and resumes by itself when it answers', async () => {
    p = await startPipeline({ worker: false });
    p.config.outagePauseAfterMs = 0; // below LMS_OUTAGE_PAUSE_MINUTES' one-minute floor, for the test
    await p.startWorker();
    p.sandbox.setKnobs({ unreachable: true });
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause.reason).toBe('LMS_UNREACHABLE');
    expect(await failedJobs(p)).toBe(0);
    p.sandbox.setKnobs({ unreachable: false });
    const status = await p.waitDone(batchId, 60_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0, certsStored: certificatesOf(p, users) });
  }, 90_000);
});

describe('certharvest worker start-up checks', () => {
  it('exits 2 naming the variable for a bad configuration', async () => {
    p = await startPipeline({ worker: false });
    const env = { ...p.env, LOG_LEVEL: 'silent' };
    const blackboard = await runCli(['worker'], { ...env, LMS: 'blackboard', DOWNLOAD_STRATEGY: 'api' });
    expect(blackboard.code).toBe(2);
    expect(blackboard.stderr).toMatch(
      /DOWNLOAD_STRATEGY: Blackboard Learn has no REST route for certificates/,
    );
    const chromium = await runCli(['worker'], { ...env, CHROMIUM_PATH: '/bin/false' });
    expect(chromium.code).toBe(2);
    expect(chromium.stderr).toMatch(/CHROMIUM_PATH: could not start Chromium/);
    const output = await runCli(['worker'], { ...env, OUTPUT_DIR: '/etc/hostname/certificates' });
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/OUTPUT_DIR: /);
  }, 60_000);
});
