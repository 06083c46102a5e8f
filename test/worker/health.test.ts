/**
 * A worker's own probes on METRICS_PORT: /healthz, /readyz (with the reasons when not ready: a
 * paused fleet, Redis down) and /metrics (its downloads, logins, token, pause, and BullMQ's queue
 * figures). Every answer comes promptly whatever Redis does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getFreePort } from '../../src/util/free-port.ts';
import { startRedisServer, type RedisServerHandle } from '../../src/util/redis-server.ts';
import { sleepUntil, tempDir } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

let p: Pipeline | undefined;
let redisServer: RedisServerHandle | undefined;
afterEach(async () => {
  await p?.close().catch(() => {});
  await redisServer?.stop();
  p = undefined;
  redisServer = undefined;
});

/** GET with a bound: a probe that hangs is a failure, not a slow pass. */
async function get(url: string) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

describe('worker /healthz, /readyz and /metrics (METRICS_PORT)', () => {
  it('ready while it runs; metrics count its downloads by outcome and source, and the queues', async () => {
    p = await startPipeline({ env: { METRICS_PORT: String(await getFreePort()) } });
    const base = p.worker.healthUrl!;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await get(`${base}healthz`)).toMatchObject({ status: 200 });
    const ready = await get(`${base}readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', redis: 'ok' });

    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    const metrics = (await get(`${base}metrics`)).text;
    expect(metrics).toContain(
      `certharvest_downloads_total{outcome="stored",source="browser"} ${status.certsStored}`,
    );
    expect(metrics).toMatch(/certharvest_download_duration_seconds_count \d+/);
    expect(metrics).toContain('certharvest_web_logins 1');
    expect(metrics).toContain('certharvest_fleet_paused{reason=""} 0');
    expect(metrics).toMatch(/certharvest_token_expiry_seconds \d+/);
    expect(metrics).toContain('certharvest_lms_throttled 0');
    expect(metrics).toMatch(/bullmq_job_count\{queue="download", state="completed"\} \d+/);
    expect(metrics.match(/# HELP bullmq_job_count /g)).toHaveLength(1); // one family, both queues
    expect(metrics).not.toMatch(/Bearer|d2lSessionVal|refresh_token/);
  });

  it('a paused fleet is not ready: 503 with the reason and the fix', async () => {
    p = await startPipeline({ env: { METRICS_PORT: String(await getFreePort()) } });
    await p.breaker.trip({
      reason: 'AUTH_CLIENT_REJECTED', // no probe lifts this one by itself
      message: 'invalid_client',
      fix: 'check OAUTH_CLIENT_ID',
    });
    // The worker reads the pause every 2 s.
    let ready = await get(`${p.worker.healthUrl!}readyz`);
    for (let i = 0; i < 30 && ready.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await get(`${p.worker.healthUrl!}readyz`);
    }
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text).reasons.join(' ')).toMatch(/AUTH_CLIENT_REJECTED.*check OAUTH_CLIENT_ID/);
    expect((await get(`${p.worker.healthUrl!}metrics`)).text).toContain(
      'certharvest_fleet_paused{reason="AUTH_CLIENT_REJECTED"} 1',
    );
  });

  it('Redis down: /healthz still 200, /readyz 503 naming Redis, /metrics answers without the queue figures', async () => {
    const dir = await tempDir('health-aof');
    redisServer = await startRedisServer({ persist: true, dir: dir.dir });
    p = await startPipeline({
      redisUrl: redisServer.url,
      env: { METRICS_PORT: String(await getFreePort()) },
    });
    const base = p.worker.healthUrl!;
    await redisServer.stop();
    expect((await get(`${base}healthz`)).status).toBe(200);
    const ready = await get(`${base}readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text).reasons.join(' ')).toMatch(/Redis/);
    const metrics = await get(`${base}metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# queue metrics unavailable');
    expect(metrics.text).toContain('certharvest_downloads_total');
    // Back up, so the worker can close cleanly.
    redisServer = await startRedisServer({ persist: true, dir: dir.dir, port: redisServer.port });
    // Redis back: ready again, by itself.
    await sleepUntil(async () => (await get(`${base}readyz`)).status === 200 || undefined, 30_000);
  }, 90_000);
});
