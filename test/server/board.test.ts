import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/browser/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { connectRedis, openQueues, submitBatch, type CertharvestQueues } from '../../src/queue/index.ts';
import { FleetBreaker } from '../../src/fleet/index.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/index.ts';

let redis: Redis;
let queues: CertharvestQueues;
let board: BoardServer;
let breaker: FleetBreaker;
const prefix = uniquePrefix('board');

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  queues = openQueues(redis, prefix);
  await submitBatch({ batchId: 'board-batch', users: [101, 102] }, { queues, redis, prefix });
  breaker = new FleetBreaker({
    redis,
    prefix,
    queues: [queues.discover, queues.download],
    logger: createLogger({ level: 'silent' }),
  });
  board = await startBoardServer({
    breaker,
    queues: [queues.discover, queues.download],
    redis,
    user: 'ops',
    password: 'correct horse',
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    envLabel: 'production',
  });
});
afterAll(async () => {
  await board.close();
  await queues.close();
  await redis.quit();
});

const auth = { authorization: `Basic ${Buffer.from('ops:correct horse').toString('base64')}` };

/** A write action the board offers: retry every failed job of a queue. */
const retryFailed = (server: BoardServer, origin?: string) =>
  fetch(`${server.url}api/queues/download/retry/failed`, {
    method: 'PUT',
    headers: { ...auth, ...(origin ? { origin } : {}) },
  });

describe('certharvest board for production', () => {
  it('is read-only by default: write actions are refused', async () => {
    const res = await retryFailed(board, board.url.replace(/\/$/, ''));
    expect(res.status).toBeGreaterThanOrEqual(400);
  });

  it('when writable (BOARD_READ_ONLY=false), refuses a write from another site (CSRF), takes one from itself', async () => {
    const writable = await startBoardServer({
      queues: [queues.discover, queues.download],
      redis,
      user: 'ops',
      password: 'correct horse',
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      readOnly: false,
    });
    try {
      const forged = await retryFailed(writable, 'https://evil.example');
      expect(forged.status).toBe(403);
      expect(await forged.text()).toMatch(/cross-site request refused/);
      expect((await retryFailed(writable)).status).toBe(403); // no Origin, no Referer
      expect((await retryFailed(writable, writable.url.replace(/\/$/, ''))).status).toBe(200);
    } finally {
      await writable.close();
    }
  });
});

describe('certharvest board', () => {
  it('refuses the board without credentials or with wrong ones', async () => {
    const none = await fetch(board.url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrong = await fetch(`${board.url}api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
  });

  it('shows a paused fleet: /readyz answers 503 with the reason, the board names it', async () => {
    await breaker.trip({ reason: 'OUTPUT_UNAVAILABLE', message: 'disk full', fix: 'free space' });
    try {
      const ready = await fetch(`${board.url}readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'paused',
        pause: { reason: 'OUTPUT_UNAVAILABLE', fix: 'free space' },
      });
      const api = await fetch(`${board.url}api/queues?activeQueue=download&status=latest&page=1`, {
        headers: { authorization: `Basic ${Buffer.from('ops:correct horse').toString('base64')}` },
      });
      const body = (await api.json()) as {
        queues: { displayName: string; description: string; isPaused: boolean }[];
      };
      for (const q of body.queues) {
        expect(q.isPaused).toBe(true);
        expect(q.displayName).toMatch(/OUTPUT_UNAVAILABLE/);
        expect(q.description).toMatch(/disk full — fix: free space/);
      }
    } finally {
      await breaker.resume('test');
    }
  });

  it('serves health, readiness and metrics without credentials', async () => {
    expect(await (await fetch(`${board.url}healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${board.url}readyz`)).json()).toMatchObject({ status: 'ready' });
    const metrics = await (await fetch(`${board.url}metrics`)).text();
    // The batch's two users, in one discover job.
    expect(metrics).toMatch(/certharvest_queue_jobs\{queue="discover",state="waiting"\} 1/);
    // The same queue-depth name as the workers', with the paused state; one family.
    expect(metrics).toMatch(/^certharvest_queue_jobs\{queue="download",state="paused"\} \d+$/m);
    expect(metrics.match(/# TYPE certharvest_queue_jobs gauge/g)).toHaveLength(1);
    // Default process metrics unprefixed, as stock Node.js dashboards read them.
    expect(metrics).toContain('# TYPE process_cpu_seconds_total counter');
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).not.toContain('certharvest_board_');
  });

  it('shows both queues and the environment label to a signed-in user in real Chromium', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({
        httpCredentials: { username: 'ops', password: 'correct horse' },
      });
      const page = await context.newPage();
      await page.goto(board.url);
      await page.getByText('discover').first().waitFor({ timeout: 15_000 });
      await page.getByText('download').first().waitFor({ timeout: 15_000 });
      // BOARD_ENV_LABEL in the header: nobody takes the production board for the test one.
      await page.getByText('production').first().waitFor({ timeout: 15_000 });
      await page.screenshot({ path: '.tmp/board.png', fullPage: true });
      expect(await page.title()).toMatch(/certharvest/i);
    } finally {
      await browser.close();
    }
  });
});
