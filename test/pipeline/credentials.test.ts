/**
 * Credentials that never need a person: a refused refresh token healed through the fleet's web
 * session (authorization code + PKCE with the session's cookies), and what happens when that is
 * impossible too.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/browser/index.ts';
import { runCli, sleepUntil, tempDir } from '../helpers/index.ts';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { createLogger } from '../../src/log/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const certsOf = (pipe: Pipeline, users: number[]) =>
  users.flatMap((u) => pipe.sandbox.institution.certificatesOf(u)).length;
const failedJobs = async (pipe: Pipeline) =>
  (await pipe.queues.discover.getFailedCount()) + (await pipe.queues.download.getFailedCount());

/** What a person does: log in in a real browser and save the storage state. */
async function captureStorageState(pipe: Pipeline, file: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${pipe.sandbox.url}/d2l/login?noredirect=1`);
    await page.fill('input[name="userName"]', pipe.sandbox.env.LMS_USERNAME);
    await page.fill('input[name="password"]', pipe.sandbox.env.LMS_PASSWORD);
    await Promise.all([page.waitForURL(/\/d2l\/home/), page.click('button[type="submit"]')]);
    await context.storageState({ path: file });
  } finally {
    await browser.close();
  }
}

/** The awards listings the sandbox has answered. */
const listings = (pipe: Pipeline): number =>
  Object.entries(pipe.sandbox.stats.routes)
    .filter(([route]) => route.includes('/issued/users/'))
    .reduce((n, [, count]) => n + count, 0);

describe('a refused refresh token', () => {
  it('revoked mid-batch: healed through the web session, the batch completes, no pause, no person', async () => {
    p = await startPipeline({ knobs: { latencyMs: 40 } });
    const users = studentsWithCertificates(p.sandbox, 14);
    const { batchId } = await p.submit({ users });
    // Revoked once the first users are listed, while the rest of the listings still need a token.
    await sleepUntil(() => listings(p!) >= 2, 30_000);
    const grantsBefore = p.sandbox.stats.tokenGrants.authorization_code;
    await p.sandbox.revokeRefreshTokens({ accessTokens: true });

    expect(await p.waitDone(batchId, 90_000)).toMatchObject({
      usersFailed: 0,
      certsFailed: 0,
      certsStored: certsOf(p, users),
    });
    expect(p.sandbox.stats.tokenGrants.authorization_code).toBe(grantsBefore + 1); // healed once
    expect(p.logs.filter((l) => l.includes('fleet paused'))).toEqual([]);
    expect(p.logs.some((l) => l.includes('new token pair obtained through the web session'))).toBe(true);
    expect(await failedJobs(p)).toBe(0);
    expect((await p.breaker.current()) ?? undefined).toBeUndefined();
  }, 120_000);

  it('healing impossible (web login refused): paused with the command, 0 failed; resumes after a session import', async () => {
    // Downloads through the bearer route; the session is there only to heal, and its password is wrong.
    p = await startPipeline({
      knobs: { latencyMs: 40, pdfApi: true },
      env: { DOWNLOAD_STRATEGY: 'api', LMS_PASSWORD: 'not-the-password' },
    });
    const users = studentsWithCertificates(p.sandbox, 12);
    const { batchId } = await p.submit({ users });
    // Revoked once the first users are listed, while the rest of the listings still need a token.
    await sleepUntil(() => listings(p!) >= 2, 30_000);
    await p.sandbox.revokeRefreshTokens({ accessTokens: true });

    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause.reason).toBe('LOGIN_REFUSED');
    expect(pause.fix).toMatch(/certharvest auth session import FILE/);
    await new Promise((r) => setTimeout(r, 1_500)); // let every in-flight job meet the dead token
    expect(await failedJobs(p)).toBe(0);
    expect(p.sandbox.stats.failedLogins).toBe(1); // the wrong password was posted once

    // A person logs in and hands the fleet the session: it heals the token through it and resumes.
    const dir = await tempDir('state');
    try {
      const file = path.join(dir.dir, 'state.json');
      await captureStorageState(p, file);
      const imported = await runCli(['auth', 'session', 'import', file], { ...p.env, LOG_LEVEL: 'warn' });
      expect(imported.code).toBe(0);
    } finally {
      await dir.cleanup();
    }
    expect(await p.waitDone(batchId, 90_000)).toMatchObject({
      usersFailed: 0,
      certsFailed: 0,
      certsStored: certsOf(p, users),
    });
    expect(p.sandbox.stats.tokenGrants.authorization_code).toBeGreaterThanOrEqual(1);
    expect(p.sandbox.stats.failedLogins).toBe(1); // never posted again
    expect(await failedJobs(p)).toBe(0);
  }, 120_000);
});

describe('an idle fleet', () => {
  /** Downloads through the bearer /pdf route, no service-user login: nothing could heal the token. */
  const apiOnly = { DOWNLOAD_STRATEGY: 'api', LMS_USERNAME: '', LMS_PASSWORD: '' };
  const disuse = { pdfApi: true, refreshTokenDisuseSeconds: 3 };

  it('idle longer than the refresh token lives unused: the keep-alive rotates it, work runs with no person', async () => {
    p = await startPipeline({ knobs: disuse, env: { ...apiOnly, TOKEN_KEEPALIVE: '1s' } });
    await new Promise((r) => setTimeout(r, 7_000)); // over twice the disuse limit, no work queued
    expect(p.sandbox.stats.tokenGrants.refresh_token).toBeGreaterThanOrEqual(4);

    const status = await runCli(['auth', 'status'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/keep-alive: +every 1s/);
    expect(status.stdout).toMatch(/last rotation: +\S+Z ok/);
    expect(status.stdout).toMatch(/next rotation: +\S+Z/);

    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId, 60_000)).toMatchObject({
      usersFailed: 0,
      certsFailed: 0,
      certsStored: certsOf(p, users),
    });
    expect(p.sandbox.stats.replayRejections).toBe(0);
    expect(await p.breaker.current()).toBeNull();
  }, 60_000);

  it("TOKEN_KEEPALIVE_SESSION: the idle fleet's web session outlives the idle logout, no new login", async () => {
    p = await startPipeline({
      knobs: { sessionIdleSeconds: 3 },
      env: { TOKEN_KEEPALIVE: '1s', TOKEN_KEEPALIVE_SESSION: 'true' },
    });
    const first = studentsWithCertificates(p.sandbox, 4);
    await p.waitDone((await p.submit({ users: first.slice(0, 2) })).batchId);
    expect(p.sandbox.stats.webLogins).toBe(1);
    await new Promise((r) => setTimeout(r, 7_000)); // over twice the idle logout, no work queued
    const { batchId } = await p.submit({ users: first.slice(2) });
    expect(await p.waitDone(batchId)).toMatchObject({ certsFailed: 0 });
    expect(p.sandbox.stats.sessionsExpired.idle).toBe(0);
    expect(p.sandbox.stats.webLogins).toBe(1);
  }, 60_000);

  it('three workers: one keep-alive per tick for the fleet, not one per worker', async () => {
    p = await startPipeline({ worker: false, knobs: disuse, env: { ...apiOnly, TOKEN_KEEPALIVE: '1s' } });
    const extra: WorkerHandle[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        extra.push(
          await startWorker({
            config: p.config,
            logger: createLogger({ level: 'silent' }),
            redis: p.redis,
            tuning: TEST_TUNING,
          }),
        );
      }
      const before = p.sandbox.stats.tokenGrants.refresh_token;
      await new Promise((r) => setTimeout(r, 5_000));
      const rotations = p.sandbox.stats.tokenGrants.refresh_token - before;
      expect(rotations).toBeGreaterThanOrEqual(3);
      expect(rotations).toBeLessThanOrEqual(6); // three timers would make about fifteen
      expect(p.sandbox.stats.replayRejections).toBe(0);
    } finally {
      for (const w of extra) await w.stop(2_000);
    }
  }, 60_000);

  it('without the keep-alive the same idle spell kills the token: the fleet pauses saying so', async () => {
    p = await startPipeline({ knobs: disuse, env: { ...apiOnly, TOKEN_KEEPALIVE: 'off' } });
    await new Promise((r) => setTimeout(r, 4_500));
    expect(p.sandbox.stats.tokenGrants.refresh_token).toBe(0);
    const status = await runCli(['auth', 'status'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(status.stdout).toMatch(/keep-alive: +off/);

    await p.submit({ users: studentsWithCertificates(p.sandbox, 2) });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause.reason).toBe('AUTH_REFRESH_REFUSED');
    expect(await failedJobs(p)).toBe(0);
  }, 60_000);
});
