import { mkdir } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/browser/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  connectRedis,
  openQueues,
  cancelBatch,
  retryBatch,
  submitBatch,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { batchKeys } from '../../src/queue/batch-keys.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { discoverJobOf, settleUser, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

/**
 * Where a screenshot goes: the docs' images with UPDATE_SCREENSHOTS=1 (to refresh them), else
 * `.tmp/` (a test run leaves the repository as it was).
 */
const shot = (name: string): string =>
  process.env.UPDATE_SCREENSHOTS === '1' ? `docs/images/${name}` : `.tmp/${name}`;

const PASSWORD = 'a board password of some length';
const auth = { authorization: `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}` };
const HOSTILE = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)>';

let redis: Redis;

/** One isolated set of queues and batch records (its own prefix). */
interface Fleet {
  prefix: string;
  queues: CertharvestQueues;
  accounting: BatchAccounting;
  tracker: BatchTracker;
}
const fleets: Fleet[] = [];
function openFleet(name: string): Fleet {
  const prefix = uniquePrefix(name);
  const f = {
    prefix,
    queues: openQueues(redis, prefix),
    accounting: new BatchAccounting(redis, prefix),
    tracker: new BatchTracker(redis, prefix),
  };
  fleets.push(f);
  return f;
}

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
});
afterAll(async () => {
  for (const f of fleets) await f.queues.close();
  await redis.quit();
});

/** A board on a free port with the batch pages of `f`; `close()` ends it. */
const startBoard = (f: Fleet, readOnly: boolean, envLabel?: string): Promise<BoardServer> =>
  startBoardServer({
    queues: [f.queues.discover, f.queues.download],
    redis,
    user: 'ops',
    password: PASSWORD,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    readOnly,
    ...(envLabel ? { envLabel } : {}),
    batchPages: { queues: f.queues, prefix: f.prefix },
  });

interface BatchShape {
  users: number;
  /** Users whose discovery ran (the rest wait in the queue: the batch runs). Default all. */
  discovered?: number;
  /** Of the discovered users, these failed as a whole (the last ones). */
  usersFailed?: number;
  stored?: number;
  alreadyStored?: number;
  /** Reasons of failed certificates, one each. */
  failed?: string[];
  /** Downloads found and queued, not run yet. */
  queued?: number;
  /** Cancelled once set up. */
  cancelled?: boolean;
  /** Moves the record's times back, so a page shows a batch that took a while. */
  startedMinutesAgo?: number;
  tookMinutes?: number;
}

let certNo = 0;

/**
 * A batch driven through the queue layer as workers would drive it (no worker runs): its users
 * submitted, the discovered ones settled with their certificates, the rest left queued.
 */
async function makeBatch(f: Fleet, batchId: string, shape: BatchShape): Promise<void> {
  const { queues, accounting, prefix } = f;
  const users = Array.from({ length: shape.users }, (_, i) => 1001 + i);
  await submitBatch({ batchId, users }, { queues, redis, prefix });
  const discovered = users.slice(0, shape.discovered ?? users.length);
  const failedUsers = new Set(discovered.slice(discovered.length - (shape.usersFailed ?? 0)));
  const found = discovered.filter((u) => !failedUsers.has(u));
  type Outcome = 'stored' | 'already-stored' | 'failed' | 'queued';
  const outcomes: { outcome: Outcome; reason?: string }[] = [
    ...Array.from({ length: shape.stored ?? 0 }, () => ({ outcome: 'stored' as const })),
    ...Array.from({ length: shape.alreadyStored ?? 0 }, () => ({ outcome: 'already-stored' as const })),
    ...(shape.failed ?? []).map((reason) => ({ outcome: 'failed' as const, reason })),
    ...Array.from({ length: shape.queued ?? 0 }, () => ({ outcome: 'queued' as const })),
  ];
  const plan = outcomes.map(({ outcome, reason }, i) => {
    const user = found[i % found.length]!;
    const n = ++certNo;
    const row = { userId: user, orgUnitId: 7, issuedId: n, title: 'Lab safety', issuedDate: '2026-11-02' };
    return {
      user,
      outcome,
      reason,
      row,
      certKey: `school.example:7:${n}`,
      ref: `7-${n} (user ${user})`,
      alreadyStored: outcome === 'already-stored',
    } satisfies ExpectedCertificate & Record<string, unknown>;
  });
  for (const user of discovered) {
    const jobId = (await discoverJobOf({ redis, prefix }, batchId, user))!;
    if (failedUsers.has(user)) {
      await settleUser({ redis, prefix, queues }, batchId, user, {
        status: 'failed',
        code: 'LMS_USER_NOT_FOUND',
        reason: `no LMS user with userId ${user}`,
      });
      continue;
    }
    const mine = plan.filter((c) => c.user === user);
    const jobs = await accounting.expectCertificates(batchId, mine, jobId);
    for (const { certificate: c, jobId: downloadId } of jobs) {
      if (c.outcome === 'stored') await accounting.settleDownload(downloadId, { status: 'stored' });
      else if (c.outcome === 'failed')
        await accounting.settleDownload(downloadId, {
          status: 'failed',
          code: 'CERTIFICATE_HTTP',
          reason: c.reason ?? 'HTTP 500',
        });
      // A real job, waiting: `cancel` finds it in the queue and removes it.
      else
        await queues.download.add(
          'download',
          { ...c.row, awardId: c.row.issuedId, batchId, certKey: c.certKey },
          { jobId: downloadId },
        );
    }
    // Out of the queue once all its users are, as if a worker had taken it.
    await settleUser({ redis, prefix, queues }, batchId, user, { status: 'done' });
  }
  if (shape.cancelled) await cancelBatch(batchId, { queues, redis, prefix });
  if (shape.startedMinutesAgo !== undefined) {
    const started = Date.now() - shape.startedMinutesAgo * 60_000;
    const { key } = batchKeys(prefix, batchId);
    await redis.hset(key, 'createdAt', new Date(started).toISOString());
    if (shape.tookMinutes !== undefined && (await redis.hexists(key, 'doneAt'))) {
      await redis.hset(key, 'doneAt', new Date(started + shape.tookMinutes * 60_000).toISOString());
    }
  }
}

const get = (board: BoardServer, path: string, headers: Record<string, string> = auth) =>
  fetch(`${board.url}${path.replace(/^\//, '')}`, { headers, redirect: 'manual' });

/** A form's POST as a browser sends it: from the board's own page unless `origin` says otherwise. */
const post = (board: BoardServer, path: string, origin: string | null = board.url.replace(/\/$/, '')) =>
  fetch(`${board.url}${path.replace(/^\//, '')}`, {
    method: 'POST',
    headers: { ...auth, ...(origin ? { origin } : {}), 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
    redirect: 'manual',
  });

describe('batch pages', () => {
  let f: Fleet;
  let board: BoardServer;
  beforeAll(async () => {
    f = openFleet('pages');
    board = await startBoard(f, false);
    await makeBatch(f, 'pages-done', { users: 3, stored: 4, alreadyStored: 1 });
    await makeBatch(f, 'pages-failures', {
      users: 3,
      usersFailed: 1,
      stored: 2,
      failed: [HOSTILE, 'HTTP 503'],
    });
    await makeBatch(f, 'pages-running', {
      users: 4,
      discovered: 2,
      stored: 2,
      failed: ['HTTP 404'],
      queued: 1,
    });
  });
  afterAll(async () => board.close());

  it('lists the recent batches, newest first, each with its state and a link to its page', async () => {
    const res = await get(board, '/batches');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await res.text();
    const at = (id: string) => body.indexOf(`href="/batches/${id}"`);
    expect(at('pages-running')).toBeGreaterThan(0);
    expect(at('pages-running')).toBeLessThan(at('pages-failures'));
    expect(at('pages-failures')).toBeLessThan(at('pages-done'));
    for (const state of ['running', 'done-with-failures', 'done']) {
      expect(body).toContain(`<span class="state state-${state}">${state}</span>`);
    }
    // A batch runs: the page reloads itself.
    expect(body).toMatch(/<meta http-equiv="refresh" content="5; url=\/batches"/);
    expect(body).not.toContain('<script');
  });

  it('shows one batch: figures, failures as text (never markup), the manifest CSV', async () => {
    const res = await get(board, '/batches/pages-failures');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'sha256-/);
    const body = await res.text();
    expect(body).toContain('state-done-with-failures');
    expect(body).toContain(
      '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;',
    );
    expect(body).not.toContain('<script');
    expect(body).not.toContain('<img');
    expect(body).toContain('LMS_USER_NOT_FOUND');
    expect(body).toMatch(/Failures <span class="muted">\(3\)<\/span>/);
    expect(body).toContain('href="/batches/pages-failures/certificates.csv"');
    expect(body).toContain('Retry failures');
    expect(body).not.toContain('Cancel batch'); // it has ended
    expect(body).not.toContain('http-equiv="refresh"');

    const csv = await get(board, '/batches/pages-failures/certificates.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe(
      'attachment; filename=pages-failures-certificates.csv',
    );
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toMatch(/^kind,userRef,userId,/);
    expect(lines).toHaveLength(1 + 4 + 1); // four certificates, one failed user
  });

  it('answers 404 with a page for an unknown batch, an id that cannot be one, or another path', async () => {
    for (const path of [
      '/batches/no-such-batch',
      '/batches/%3Cb%3E',
      '/batches/pages-done/elsewhere',
      '/batches/nope/certificates.csv',
    ]) {
      const res = await get(board, path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).toMatch(/<h1>No such (batch|page)<\/h1>/);
    }
    expect((await post(board, '/batches/no-such-batch/cancel')).status).toBe(404);
  });

  it('cancels only on a request from the board itself (CSRF), then shows the page with a notice', async () => {
    await makeBatch(f, 'pages-cancel', { users: 3, discovered: 1, stored: 1, queued: 1 });
    expect((await post(board, '/batches/pages-cancel/cancel', null)).status).toBe(403); // no Origin, no Referer
    const forged = await post(board, '/batches/pages-cancel/cancel', 'https://evil.example');
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(/cross-site request refused/);
    expect((await f.tracker.status('pages-cancel', 1))?.state).toBe('running');

    const res = await post(board, '/batches/pages-cancel/cancel');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/batches/pages-cancel?notice=cancelled');
    expect(await f.tracker.status('pages-cancel', 1)).toMatchObject({
      state: 'cancelled',
      usersCancelled: 2,
      certsCancelled: 1,
    });
    const page = await (await get(board, res.headers.get('location')!)).text();
    expect(page).toContain('state-cancelled');
    expect(page).toContain('Cancelled: its queued work is removed');
    expect(page).not.toContain('Cancel batch');
  });

  it('retries the failures as a new batch and goes to its page, linked both ways', async () => {
    const res = await post(board, '/batches/pages-failures/retry');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/batches/pages-failures.retry-1?notice=retried');
    const page = await (await get(board, res.headers.get('location')!)).text();
    expect(page).toContain('Retry queued');
    expect(page).toContain('Retries the failures of <a href="/batches/pages-failures">pages-failures</a>');
    expect(page).toContain('Cancel batch'); // it runs
    const original = await (await get(board, '/batches/pages-failures')).text();
    expect(original).toContain('retried by <a href="/batches/pages-failures.retry-1">');

    // A running batch is not retried: back to its page, with why.
    const running = await post(board, '/batches/pages-running/retry');
    expect(running.status).toBe(303);
    expect(running.headers.get('location')).toBe('/batches/pages-running?notice=still-running');
  });

  it('asks for the board login on every page and action', async () => {
    for (const path of ['/batches', '/batches/pages-done', '/batches/pages-done/certificates.csv']) {
      const res = await get(board, path, {});
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    const res = await fetch(`${board.url}batches/pages-running/cancel`, {
      method: 'POST',
      headers: { origin: board.url.replace(/\/$/, '') },
    });
    expect(res.status).toBe(401);
    expect((await f.tracker.status('pages-running', 1))?.state).toBe('running');
  });
});

describe('batch pages on a read-only board', () => {
  it('show no buttons, and refuse cancel and retry with 403', async () => {
    const f = openFleet('pages-ro');
    await makeBatch(f, 'ro-running', { users: 2, discovered: 1, stored: 1 });
    await makeBatch(f, 'ro-failed', { users: 1, stored: 1, failed: ['HTTP 500'] });
    const board = await startBoard(f, true);
    try {
      for (const id of ['ro-running', 'ro-failed']) {
        const body = await (await get(board, `/batches/${id}`)).text();
        expect(body).not.toContain('<form');
        expect(body).toContain('Read-only board');
      }
      expect((await post(board, '/batches/ro-running/cancel')).status).toBe(403);
      expect((await post(board, '/batches/ro-failed/retry')).status).toBe(403);
      expect((await f.tracker.status('ro-running', 1))?.state).toBe('running');
      expect(await f.tracker.exists('ro-failed.retry-1')).toBe(false);
    } finally {
      await board.close();
    }
  });
});

describe('batch pages in real Chromium', () => {
  it('logs in, lists, opens a batch and cancels it; takes the docs’ screenshots', async () => {
    const f = openFleet('pages-shots');
    await makeBatch(f, 'nightly-20261205', {
      users: 40,
      stored: 2,
      alreadyStored: 58,
      startedMinutesAgo: 2 * 1440 + 3,
      tookMinutes: 2,
    });
    await makeBatch(f, 'fall-2026', {
      users: 12,
      usersFailed: 1,
      stored: 27,
      alreadyStored: 3,
      failed: ['HTTP 403 from the certificate route', 'the body is not a PDF (text/html, 2,314 bytes)'],
      startedMinutesAgo: 1460,
      tookMinutes: 7,
    });
    await makeBatch(f, 'nightly-20261206', {
      users: 40,
      discovered: 0,
      cancelled: true,
      startedMinutesAgo: 1443,
      tookMinutes: 1,
    });
    await retryBatch('fall-2026', { queues: f.queues, redis, prefix: f.prefix }, {});
    await makeBatch(f, 'summer-2026', {
      users: 8,
      stored: 11,
      alreadyStored: 3,
      startedMinutesAgo: 200,
      tookMinutes: 1,
    });
    await makeBatch(f, 'spring-2026', {
      users: 24,
      discovered: 15,
      stored: 21,
      alreadyStored: 4,
      failed: [HOSTILE, 'HTTP 404: no such certificate'],
      queued: 6,
      startedMinutesAgo: 4,
    });
    const board = await startBoard(f, false, 'staging');
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({
        httpCredentials: { username: 'ops', password: PASSWORD },
        viewport: { width: 1100, height: 700 },
      });
      const page = await context.newPage();
      await page.goto(`${board.url}batches`);
      await page.getByRole('heading', { name: 'Batches' }).waitFor();
      await mkdir('docs/images', { recursive: true });
      await page.screenshot({ path: shot('batches-list.png') });

      await Promise.all([
        page.waitForURL(/\/batches\/spring-2026$/),
        page.getByRole('link', { name: 'spring-2026', exact: true }).click(),
      ]);
      await page.locator('h1 .state-running').waitFor();
      // The LMS's text is shown as text: no element of it exists.
      await page.getByText(HOSTILE).waitFor();
      expect(await page.locator('main script, main img').count()).toBe(0);
      await page.screenshot({ path: shot('batch-page.png') });

      await Promise.all([
        page.waitForURL(/\/batches\/spring-2026\?notice=cancelled$/),
        page.getByRole('button', { name: 'Cancel batch' }).click(),
      ]);
      await page.locator('h1 .state-cancelled').waitFor();
      await page.getByText(/^Cancelled: its queued work is removed/).waitFor();
      expect(await page.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0);
      expect((await f.tracker.status('spring-2026', 1))?.state).toBe('cancelled');
      await page.screenshot({ path: '.tmp/batch-page-cancelled.png', fullPage: true });

      // From Bull Board, its header menu leads to the batch pages (`miscLinks`).
      await page.goto(board.url);
      await page.getByText('discover').first().waitFor({ timeout: 15_000 });
      await page.locator('ul button[aria-haspopup="menu"]').first().click();
      await Promise.all([
        page.waitForURL(/\/batches$/),
        page.getByRole('menuitem', { name: 'Batches' }).click(),
      ]);
      await page.locator('tr', { hasText: 'spring-2026' }).locator('.state-cancelled').waitFor();
    } finally {
      await browser.close();
      await board.close();
    }
  });
});
