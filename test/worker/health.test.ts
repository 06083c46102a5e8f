/**
 * A worker's own probes on METRICS_PORT: /healthz, /readyz (with the reasons when not ready: a
 * paused fleet, Redis down) and /metrics (its downloads, logins, token, pause, LMS requests, batches
 * and the queues' depth). Every answer comes promptly whatever Redis does.
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
    // Counters are counters, named with _total.
    expect(metrics).toContain('# TYPE certharvest_web_logins_total counter');
    expect(metrics).toContain('certharvest_web_logins_total 1');
    expect(metrics).toContain('# TYPE certharvest_lms_throttled_total counter');
    expect(metrics).toContain('certharvest_lms_throttled_total 0');
    expect(metrics).toContain('# TYPE certharvest_token_refreshes_total counter');
    expect(metrics).toMatch(/^certharvest_token_refreshes_total \d+$/m);
    expect(metrics).not.toMatch(/^certharvest_(web_logins|lms_throttled|token_refreshes) /m);
    expect(metrics).toContain('certharvest_fleet_paused{reason=""} 0');
    expect(metrics).toMatch(/certharvest_token_expiry_seconds \d+/);
    // Default process metrics unprefixed, as stock Node.js dashboards read them.
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(metrics).not.toMatch(/certharvest_worker_process|certharvest_worker_nodejs/);
    // Queue depth has one name, the board's.
    expect(metrics).toMatch(/^certharvest_queue_jobs\{queue="download",state="completed"\} \d+$/m);
    expect(metrics).toMatch(/^certharvest_queue_jobs\{queue="discover",state="paused"\} 0$/m);
    expect(metrics.match(/# HELP certharvest_queue_jobs /g)).toHaveLength(1);
    expect(metrics).not.toContain('bullmq_job_count');
    // LMS requests by route kind (never an id), with their latency.
    expect(metrics).toContain('# TYPE certharvest_lms_requests_total counter');
    const awardsOk = /^certharvest_lms_requests_total\{route="awards",outcome="ok"\} (\d+)$/m.exec(metrics);
    expect(Number(awardsOk?.[1])).toBeGreaterThanOrEqual(users.length);
    expect(metrics).toMatch(/^certharvest_lms_requests_total\{route="versions",outcome="ok"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^certharvest_lms_request_duration_seconds_count\{route="awards"\} [1-9]\d*$/m);
    const routes = new Set(
      [...metrics.matchAll(/certharvest_lms_request\w*\{[^}]*route="([^"]*)"/g)].map((m) => m[1]),
    );
    for (const route of routes)
      expect(['users', 'awards', 'courses', 'pdf', 'versions', 'token', 'render', 'page', 'other']).toContain(
        route,
      );
    // Downloads with the web session count as LMS requests too (route `render`).
    expect(metrics).toMatch(/^certharvest_lms_requests_total\{route="render",outcome="ok"\} [1-9]\d*$/m);
    // The batch, counted once by the worker that settled it.
    expect(metrics).toContain('certharvest_batches_total{state="completed"} 1');
    expect(metrics).toContain('certharvest_batches_total{state="failed"} 0');
    expect(metrics).not.toMatch(/Bearer|d2lSessionVal|refresh_token/);
  });

  it('every outcome series is there at 0 before any job', async () => {
    p = await startPipeline({ env: { METRICS_PORT: String(await getFreePort()) } });
    const metrics = (await get(`${p.worker.healthUrl!}metrics`)).text;
    for (const series of [
      'certharvest_downloads_total{outcome="stored",source="api"} 0',
      'certharvest_downloads_total{outcome="stored",source="browser"} 0',
      'certharvest_downloads_total{outcome="already-stored",source="none"} 0',
      'certharvest_downloads_total{outcome="failed",source="none"} 0',
      'certharvest_batches_total{state="completed"} 0',
      'certharvest_batches_total{state="failed"} 0',
      'certharvest_webhook_deliveries_total{outcome="delivered"} 0',
      'certharvest_webhook_deliveries_total{outcome="retried"} 0',
      'certharvest_webhook_deliveries_total{outcome="dead"} 0',
    ]) {
      expect(metrics).toContain(series);
    }
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
    // The queue depth needs Redis: its family is empty rather than the scrape stuck.
    expect(metrics.text).not.toMatch(/^certharvest_queue_jobs\{/m);
    expect(metrics.text).toContain('certharvest_downloads_total');
    // Back up, so the worker can close cleanly.
    redisServer = await startRedisServer({ persist: true, dir: dir.dir, port: redisServer.port });
    // Redis back: ready again, by itself.
    await sleepUntil(async () => (await get(`${base}readyz`)).status === 200 || undefined, 30_000);
  }, 90_000);
});
