import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.ts';
import { verifyWebhook } from '../../src/library/verify-webhook.ts';
import { batchEventsKey } from '../../src/queue/index.ts';
import { createWorkerMetrics, startWorkerHealthServer } from '../../src/server/worker-health.ts';
import {
  readWebhookDeadLetters,
  startBatchWebhook,
  WEBHOOK_GROUP,
  type BatchWebhook,
  type BatchWebhookOptions,
} from '../../src/webhook/batch-webhook.ts';
import { captureLogger, runCli, sleepUntil, tempDir } from '../helpers/index.ts';
import { startPipeline, type Pipeline } from '../pipeline/harness.ts';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1 that can be taken down and brought back on the same port. */
async function startReceiver(status = 200) {
  const deliveries: Delivery[] = [];
  let server: http.Server | undefined;
  let port = 0;
  const up = async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  };
  const down = () =>
    new Promise<void>((r) => {
      if (!server) return r();
      server.close(() => r());
      server.closeAllConnections();
      server = undefined;
    });
  await up();
  return { url: () => `http://127.0.0.1:${port}/hook`, deliveries, up, down };
}

let p: Pipeline | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
const hooks: BatchWebhook[] = [];
afterEach(async () => {
  for (const h of hooks.splice(0)) await h.stop();
  await receiver?.down();
  await p?.close();
  p = undefined;
  receiver = undefined;
});

/** A webhook on the pipeline's Redis with short backoffs; counted in its own metrics. */
async function hook(options: Partial<BatchWebhookOptions> & { url: string }) {
  const metrics = createWorkerMetrics({ pause: () => null });
  const log = captureLogger('debug');
  const h = await startBatchWebhook({
    redis: p!.redis,
    prefix: p!.config.queuePrefix,
    secret: new Secret(SECRET),
    logger: log.logger,
    retryBaseMs: 150,
    retryMaxMs: 400,
    blockMs: 150,
    onOutcome: (o) => metrics.webhookDelivery(o),
    ...options,
  });
  hooks.push(h);
  return { h, metrics, log };
}

const counted = async (metrics: ReturnType<typeof createWorkerMetrics>, outcome: string): Promise<number> => {
  const text = await metrics.registry.metrics();
  const m = new RegExp(`^certharvest_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(
    text,
  );
  return m ? Number(m[1]) : -1;
};

/** A batch whose only entry is malformed is done at submission, and announced. */
const finishABatch = async () => (await p!.submit({ users: ['not an id'] })).batchId;

describe('batch webhook deliveries are durable', () => {
  it('a receiver down, a worker restart, the receiver up: delivered later with the same webhook-id, counted', async () => {
    p = await startPipeline({ worker: false });
    receiver = await startReceiver();
    const url = receiver.url();
    await receiver.down();
    const first = await hook({ url });
    expect(await counted(first.metrics, 'delivered')).toBe(0); // present at 0 from the start
    const batchId = await finishABatch();
    await sleepUntil(async () => (await counted(first.metrics, 'retried')) >= 2, 10_000);
    // The failed attempts never log the URL's path (it may carry a token).
    expect(first.log.text()).not.toContain('/hook');
    // The worker stops while the event is undelivered; another starts later.
    await first.h.stop();
    hooks.splice(0);
    await receiver.up();
    const second = await hook({ url });
    const [d] = await sleepUntil(
      () => (receiver!.deliveries.length > 0 ? receiver!.deliveries : undefined),
      10_000,
    );
    const [entry] = await p.redis.xrange(batchEventsKey(p.config.queuePrefix), '-', '+');
    expect(d!.headers['webhook-id']).toBe(entry?.[0]);
    expect(verifyWebhook(SECRET, d!.body, d!.headers)).toMatchObject({ batchId });
    await sleepUntil(async () => (await counted(second.metrics, 'delivered')) === 1, 5_000);
    const pending = (await p.redis.xpending(batchEventsKey(p.config.queuePrefix), WEBHOOK_GROUP)) as [number];
    expect(pending[0]).toBe(0);
    expect(await counted(second.metrics, 'dead')).toBe(0);
    // The signing key is in no log line and in no request.
    const keyPart = SECRET.slice('whsec_'.length);
    for (const text of [first.log.text(), second.log.text(), JSON.stringify(receiver.deliveries)]) {
      expect(text).not.toContain(keyPart);
      expect(text).not.toContain('0123456789abcdef0123456789abcdef');
    }
  }, 60_000);

  it('past BATCH_WEBHOOK_RETRY_FOR an event is dead-lettered, counted, and `status` shows it; /readyz warns but stays 200', async () => {
    p = await startPipeline({ worker: false });
    receiver = await startReceiver(500);
    const { h, metrics } = await hook({ url: receiver.url(), retryForMs: 1_500, alertAfterMs: 500 });
    metrics.addReadinessWarning(() => h.warning());
    const health = await startWorkerHealthServer({
      port: 0,
      host: '127.0.0.1',
      redis: p.redis,
      metrics,
      queues: [],
      pause: () => null,
      running: () => true,
      logger: captureLogger().logger,
    });
    try {
      const ready = async () => {
        const res = await fetch(`${health.url}readyz`);
        return { status: res.status, body: (await res.json()) as { warnings?: string[] } };
      };
      expect((await ready()).body.warnings).toBeUndefined();
      const batchId = await finishABatch();
      const dead = await sleepUntil(async () => {
        const d = await readWebhookDeadLetters(p!.redis, p!.config.queuePrefix, 5);
        return d.count > 0 ? d : undefined;
      }, 15_000);
      expect(dead.count).toBe(1);
      expect(dead.letters[0]).toMatchObject({
        batchId,
        reason: expect.stringMatching(/not delivered within 2s/),
      });
      expect(dead.letters[0]!.attempts).toBeGreaterThanOrEqual(2);
      expect(receiver.deliveries.length).toBeGreaterThanOrEqual(2);
      expect(new Set(receiver.deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
      expect(await counted(metrics, 'dead')).toBe(1);
      expect(await counted(metrics, 'retried')).toBeGreaterThanOrEqual(2);
      const pending = (await p.redis.xpending(batchEventsKey(p.config.queuePrefix), WEBHOOK_GROUP)) as [
        number,
      ];
      expect(pending[0]).toBe(0);
      // Failing for longer than alertAfterMs: ready, with a warning.
      const r = await ready();
      expect(r.status).toBe(200);
      expect(r.body.warnings?.join()).toMatch(
        /batch webhook: deliveries to http:\/\/127\.0\.0\.1:\d+ have failed/,
      );

      const cwd = await tempDir('status');
      try {
        const out = await runCli(['status'], p.env, cwd.dir);
        expect(out.stdout).toContain('batch webhook: 1 event(s) given up');
        expect(out.stdout).toContain(`batch ${batchId}`);
      } finally {
        await cwd.cleanup();
      }
    } finally {
      await health.close();
    }
  }, 60_000);

  it('a deleted stream, or a destroyed group, is recreated and later events are delivered', async () => {
    p = await startPipeline({ worker: false });
    receiver = await startReceiver();
    const { log } = await hook({ url: receiver.url() });
    const key = batchEventsKey(p.config.queuePrefix);
    const first = await finishABatch();
    await sleepUntil(() => receiver!.deliveries.length >= 1, 10_000);

    await p.redis.del(key);
    await sleepUntil(() => /was lost; recreated/.test(log.text()), 10_000);
    const second = await finishABatch();
    await sleepUntil(() => receiver!.deliveries.length >= 2, 10_000);

    await p.redis.xgroup('DESTROY', key, WEBHOOK_GROUP);
    const third = await finishABatch();
    await sleepUntil(() => receiver!.deliveries.length >= 3, 10_000);
    expect(receiver.deliveries.map((d) => (JSON.parse(d.body) as { batchId: string }).batchId)).toEqual([
      first,
      second,
      third,
    ]);
  }, 60_000);

  it('refuses a URL with credentials without echoing them', async () => {
    p = await startPipeline({ worker: false });
    await expect(hook({ url: 'http://hookuser:hunter2@127.0.0.1:9/hook' })).rejects.toThrow(
      /^BATCH_WEBHOOK_URL: expected a URL without user:password@ \(value hidden\)$/,
    );
  }, 30_000);
});
