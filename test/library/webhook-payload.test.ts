import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/certificate/index.ts';
import { Secret } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchTracker,
  cancelBatch,
  openQueues,
  retryBatch,
  submitBatch,
  type CertharvestQueues,
} from '../../src/queue/index.ts';
import { followBatchEnds, writeBatchManifest } from '../../src/report/manifest-file.ts';
import { startBatchWebhook, verifyWebhook, type BatchWebhookBody } from '../../src/webhook/batch-webhook.ts';
import { settleUser, sleepUntil, tempDir, withRedis } from '../helpers/index.ts';

const SECRET = `whsec_${Buffer.from('payload-secret-for-tests-0123456789').toString('base64')}`;

/** A receiver on 127.0.0.1 that keeps each verified body. */
async function startReceiver() {
  const bodies: BatchWebhookBody[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(verifyWebhook(SECRET, body, req.headers));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Redis with a prefix of its own, queues on it, a receiver and a temp OUTPUT_DIR. */
async function setUp() {
  const r = await withRedis('payload');
  const queues: CertharvestQueues = openQueues(r.redis, r.prefix);
  const receiver = await startReceiver();
  const out = await tempDir('payload-out');
  cleanups.push(r.close, () => queues.close(), receiver.close, out.cleanup);
  const deps = { queues, redis: r.redis, prefix: r.prefix };
  const webhook = async (manifestFile?: { outputDir: string; waitMs?: number }) => {
    const hook = await startBatchWebhook({
      redis: r.redis,
      prefix: r.prefix,
      url: receiver.url,
      secret: new Secret(SECRET),
      logger: createLogger({ level: 'silent' }),
      retryBaseMs: 200,
      blockMs: 100,
      ...(manifestFile ? { manifestFile } : {}),
    });
    cleanups.push(() => hook.stop());
  };
  return { ...r, queues, deps, receiver, out: out.dir, webhook };
}

describe('the batch webhook payload', () => {
  it('carries schemaVersion, the state "cancelled", its counts and where the manifest is (the file once written)', async () => {
    const t = await setUp();
    const tracker = new BatchTracker(t.redis, t.prefix);
    const follower = await followBatchEnds({
      redis: t.redis,
      prefix: t.prefix,
      logger: createLogger({ level: 'silent' }),
      blockMs: 100,
      onEnd: async (batchId) => void (await writeBatchManifest(tracker, batchId, t.out)),
    });
    cleanups.push(() => follower.stop());
    await t.webhook({ outputDir: t.out, waitMs: 5_000 });

    await submitBatch({ batchId: 'wp-1', users: [1, 2, 'x y'] }, t.deps);
    await cancelBatch('wp-1', t.deps);
    const [body] = await sleepUntil(() => (t.receiver.bodies.length > 0 ? t.receiver.bodies : undefined));
    expect(body).toEqual({
      schemaVersion: SCHEMA_VERSION,
      event: 'batch.done',
      batchId: 'wp-1',
      finishedAt: expect.stringMatching(/^\d{4}-/),
      state: 'cancelled',
      retryOf: null,
      usersTotal: 3,
      usersFailed: 1,
      usersCancelled: 2,
      certsFound: 0,
      certsStored: 0,
      certsAlreadyStored: 0,
      certsFailed: 0,
      certsCancelled: 0,
      certificates: {
        url: '/api/batches/wp-1/certificates?format=csv',
        file: '_batches/wp-1.csv',
      },
    });
    // The file is there when the webhook names it.
    const csv = await readFile(path.join(t.out, body!.certificates.file!), 'utf8');
    expect(csv).toMatch(/\nuser,userId:x y,.*USER_REF_MALFORMED/);
  });

  it('names no file when the manifest file is off; a retry batch names the batch it retried', async () => {
    const t = await setUp();
    await t.webhook();
    await submitBatch({ batchId: 'wp-2', users: [7] }, t.deps);
    await settleUser(t, 'wp-2', 7, { status: 'failed', code: 'LMS_USER_NOT_FOUND', reason: 'no such user' });
    await retryBatch('wp-2', t.deps, { batchId: 'wp-2b' });
    await cancelBatch('wp-2b', t.deps);
    const bodies = await sleepUntil(() => (t.receiver.bodies.length >= 2 ? t.receiver.bodies : undefined));
    const byId = Object.fromEntries(bodies.map((b) => [b.batchId, b]));
    expect(byId['wp-2']).toMatchObject({
      state: 'done-with-failures',
      retryOf: null,
      usersFailed: 1,
      certificates: { url: '/api/batches/wp-2/certificates?format=csv', file: null },
    });
    expect(byId['wp-2b']).toMatchObject({ state: 'cancelled', retryOf: 'wp-2', usersCancelled: 1 });
  });
});
