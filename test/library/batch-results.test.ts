import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/certificate/index.ts';
import { Secret } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { waitForBatch } from '../../src/library/wait-for-batch.ts';
import { batchEventsKey, type BatchStatus } from '../../src/queue/index.ts';
import {
  startBatchWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type BatchWebhookBody,
} from '../../src/webhook/batch-webhook.ts';
import { sleepUntil } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const WEBHOOK_SECRET = `whsec_${Buffer.from('webhook-secret-for-tests-0123456789').toString('base64')}`;

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that answers `statuses` in turn (then 200). */
async function startReceiver(statuses: number[] = []) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, deliveries, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let p: Pipeline | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await p?.close();
  await receiver?.close();
  p = undefined;
  receiver = undefined;
});

describe('a finished batch, for producers', () => {
  it('waitForBatch returns each certificate with its path and sha256, the failures, and the batch is announced once, signed', async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    p = await startPipeline({
      env: { BATCH_WEBHOOK_URL: url, BATCH_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
    const users = studentsWithCertificates(p.sandbox, 4);
    const { batchId } = await p.submit({ users: [...users, 987654] });
    const seen: BatchStatus[] = [];
    const outcome = await waitForBatch(
      batchId,
      { redis: p.redis, prefix: p.config.queuePrefix },
      { pollMs: 100, timeoutMs: 60_000, onProgress: (s) => seen.push(s) },
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)?.done).toBe(true);
    expect(outcome.succeeded).toBe(false);
    expect(outcome.status.finishedAt).toMatch(/^\d{4}-/);
    // The unknown user is a structured failure; every certificate of the others is on disk.
    expect(outcome.failures).toEqual([
      expect.objectContaining({
        kind: 'user',
        code: expect.stringMatching(/^[A-Z_]+$/),
        ref: expect.stringContaining('987654'),
      }),
    ]);
    const expected = users.flatMap((u) => p!.sandbox.institution.certificatesOf(u).map((c) => ({ u, c })));
    expect(outcome.certificates).toHaveLength(expected.length);
    for (const { u, c } of expected) {
      const r = outcome.certificates.find((x) => x.issuedId === c.IssuedId);
      expect(r).toMatchObject({ userId: u, orgUnitId: c.OrgUnitId, status: 'stored' });
      const bytes = await readFile(r!.path!);
      expect(r!.sha256).toBe(sha(bytes));
      expect(r!.sha256).toBe(sha(await p.sandbox.certificatePdf(c.IssuedId)));
      expect(r!.bytes).toBe(bytes.length);
    }

    // The events stream says it once; the webhook gets it once, signed.
    const events = await p.redis.xrange(batchEventsKey(p.config.queuePrefix), '-', '+');
    expect(events.filter(([, f]) => f.includes(batchId))).toHaveLength(1);
    const deliveries = await sleepUntil(
      () => (receiver!.deliveries.length > 0 ? receiver!.deliveries : undefined),
      20_000,
    );
    expect(deliveries).toHaveLength(1);
    const d = deliveries[0]!;
    expect(d.headers['x-certharvest-event']).toBe('batch.done');
    expect(d.headers['webhook-id']).toMatch(/^\d+-\d+$/);
    expect(verifyWebhook(WEBHOOK_SECRET, d.body, d.headers)).toMatchObject({ batchId });
    expect(() => verifyWebhook('another-secret-0123456789', d.body, d.headers)).toThrow(
      WebhookVerificationError,
    );
    const body = JSON.parse(d.body) as BatchWebhookBody;
    expect(body).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      event: 'batch.done',
      batchId,
      state: 'done-with-failures',
      usersFailed: 1,
      certsStored: expected.length,
      certificates: {
        url: `/api/batches/${batchId}/certificates?format=csv`,
        file: `_batches/${batchId}.csv`,
      },
    });
    // The worker wrote the manifest file as the batch ended: a row per certificate and the user.
    const manifest = (await readFile(path.join(p.outputDir, body.certificates.file!), 'utf8')).trimEnd();
    expect(manifest.split('\n')).toHaveLength(1 + expected.length + 1);
    expect(d.body).not.toContain(WEBHOOK_SECRET);

    // A second batch of the same users: already stored, with the same files.
    const again = await p.submit({ users });
    const second = await waitForBatch(
      again.batchId,
      { redis: p.redis, prefix: p.config.queuePrefix },
      { pollMs: 100 },
    );
    expect(second.succeeded).toBe(true);
    expect(second.certificates.map((c) => c.status)).toEqual(expected.map(() => 'already-stored'));
    expect(second.certificates.map((c) => c.sha256).sort()).toEqual(
      outcome.certificates.map((c) => c.sha256).sort(),
    );
  }, 120_000);

  it('a webhook that fails is retried until it answers 2xx (same delivery id)', async () => {
    receiver = await startReceiver([500, 503]);
    p = await startPipeline({ worker: false });
    const prefix = p.config.queuePrefix;
    const hook = await startBatchWebhook({
      redis: p.redis,
      prefix,
      url: receiver.url,
      secret: new Secret(WEBHOOK_SECRET),
      logger: createLogger({ level: 'silent' }),
      retryBaseMs: 300,
      blockMs: 200,
    });
    try {
      // A batch whose only entry is malformed is done at submission, and announced.
      const { batchId } = await p.submit({ users: ['not an id'] });
      const deliveries = await sleepUntil(
        () => (receiver!.deliveries.length >= 3 ? receiver!.deliveries : undefined),
        20_000,
      );
      expect(new Set(deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
      expect(JSON.parse(deliveries[2]!.body)).toMatchObject({
        batchId,
        state: 'done-with-failures',
        usersFailed: 1,
      });
      // Acknowledged: nothing pending for the group.
      await sleepUntil(async () => {
        const pending = (await p!.redis.xpending(batchEventsKey(prefix), 'webhook')) as [number];
        return pending[0] === 0;
      }, 10_000);
    } finally {
      await hook.stop();
    }
  }, 60_000);
});
