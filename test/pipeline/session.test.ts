/**
 * One web session for the whole fleet: Chromium logs in once (in one process), the cookies are
 * sealed in Redis, and every worker downloads with them over plain HTTP.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { launchChromium } from '../../src/browser/index.ts';
import { getFreePort } from '../../src/util/free-port.ts';
import { captureLogger, runCli, sleepUntil, spawnCli, startXvfb, tempDir } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
const workers: WorkerHandle[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(2_000).catch(() => {});
  await p?.close();
  p = undefined;
});

describe('the fleet web session', () => {
  it('three workers and no expiry: exactly one login, and one Chromium', async () => {
    p = await startPipeline({ worker: false, knobs: { latencyMs: 20 } });
    for (let i = 0; i < 3; i++) {
      const { logger } = captureLogger('warn');
      workers.push(await startWorker({ config: p.config, logger, redis: p.redis, tuning: TEST_TUNING }));
    }
    const users = studentsWithCertificates(p.sandbox, 20);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ certsFailed: 0, usersFailed: 0 });
    expect(p.sandbox.stats.webLogins).toBe(1);
    const launches = workers.map((w) => w.session?.stats.launches ?? 0);
    expect(launches.reduce((a, b) => a + b, 0)).toBe(1); // the other two never started Chromium
    const downloads = workers.map((w) => w.session?.stats.downloads ?? 0);
    expect(downloads.filter((d) => d > 0).length).toBeGreaterThanOrEqual(2); // all download with it
  });

  it('imports a storage state a person captured: the fleet downloads with it, no login', async () => {
    p = await startPipeline({ worker: false });
    // "A person" logs in in a real browser and saves the storage state.
    const browser = await launchChromium();
    const dir = await tempDir('state');
    const file = path.join(dir.dir, 'state.json');
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${p.sandbox.url}/d2l/login?noredirect=1`);
      await page.fill('input[name="userName"]', p.env.LMS_USERNAME!);
      await page.fill('input[name="password"]', p.env.LMS_PASSWORD!);
      await Promise.all([page.waitForURL(/\/d2l\/home/), page.click('button[type="submit"]')]);
      await context.storageState({ path: file });
    } finally {
      await browser.close();
    }
    const loginsByPerson = p.sandbox.stats.webLogins;

    const imported = await runCli(['auth', 'session', 'import', file], { ...p.env, LOG_LEVEL: 'warn' });
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/as the fleet's web session \(generation 1\)/);
    await p.startWorker();
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({ certsFailed: 0 });
    expect(p.sandbox.stats.webLogins).toBe(loginsByPerson); // no worker logged in
    expect(p.worker.session?.stats.launches).toBe(0);

    const refused = await runCli(['auth', 'session', 'import', path.join(dir.dir, 'nope.json')], p.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/nope\.json: cannot read it/);
    await dir.cleanup();
  });

  it('auth session capture: a person logs in in a visible browser (Xvfb here), the fleet gets the session', async () => {
    p = await startPipeline({ worker: false });
    const display = await startXvfb();
    const port = await getFreePort();
    const capture = spawnCli(['auth', 'session', 'capture', '--remote-debugging-port', String(port)], {
      ...p.env,
      DISPLAY: display.name,
      LOG_LEVEL: 'warn',
    });
    let person: Browser | undefined;
    try {
      // "The person" at the window: driven over the DevTools protocol of the headed browser.
      person = await sleepUntil(() =>
        chromium.connectOverCDP(`http://127.0.0.1:${port}`).catch(() => undefined),
      );
      const page = await sleepUntil(() =>
        person!
          .contexts()[0]
          ?.pages()
          .find((pg) => /\/d2l\/login/.test(pg.url())),
      );
      await page.fill('input[name="userName"]', p.env.LMS_USERNAME!);
      await page.fill('input[name="password"]', p.env.LMS_PASSWORD!);
      await Promise.all([page.waitForURL(/\/d2l\/home/), page.click('button[type="submit"]')]);
      await page.close(); // "close the window when you see /d2l/home"
      expect(await capture.exited).toBe(0);
    } finally {
      await person?.close().catch(() => {});
      capture.child.kill('SIGKILL');
      display.stop();
    }
    expect(capture.stdout()).toMatch(/Log in as the service user in the browser window/);
    expect(capture.stdout()).toMatch(/as the fleet's web session \(generation 1\)/);
    const loginsByPerson = p.sandbox.stats.webLogins;

    await p.startWorker();
    const { batchId } = await p.submit({ users: studentsWithCertificates(p.sandbox, 2) });
    expect(await p.waitDone(batchId)).toMatchObject({ certsFailed: 0 });
    expect(p.sandbox.stats.webLogins).toBe(loginsByPerson); // the worker used the captured session
    expect(p.worker.session?.stats.launches).toBe(0);
  });

  it('auth session capture without a display says how to capture elsewhere, exit 2', async () => {
    p = await startPipeline({ worker: false });
    const run = await runCli(['auth', 'session', 'capture'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/needs a display \(DISPLAY is not set\).*auth session import state\.json/s);
  });

  it('runs LMS_LOGIN_SCRIPT instead of the form fill (SSO tenants), in the same guarded login', async () => {
    const dir = await tempDir('script');
    const script = path.join(dir.dir, 'login.mjs');
    const marker = path.join(dir.dir, 'ran');
    await writeFile(
      script,
      `import { writeFile } from 'node:fs/promises';
export async function login(page, { lmsUrl, username, password }) {
  await writeFile(${JSON.stringify(marker)}, username);
  await page.goto(lmsUrl + '/d2l/login?noredirect=1');
  await page.fill('#userName', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\\/d2l\\/home/), page.click('button[type="submit"]')]);
}
`,
    );
    p = await startPipeline({ env: { LMS_LOGIN_SCRIPT: script } });
    const users = studentsWithCertificates(p.sandbox, 2);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({ certsFailed: 0 });
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(marker, 'utf8')).toBe(p.env.LMS_USERNAME);
    expect(p.sandbox.stats.webLogins).toBe(1);
    await dir.cleanup();
  });
});
