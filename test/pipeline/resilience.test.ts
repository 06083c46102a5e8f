import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleepUntil } from '../helpers/index.ts';
import { expectAllStoredWhole, startPipeline, studentsWithCertificates, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('the pipeline under a difficult LMS', () => {
  it('survives the web session expiring every few downloads, with about one login per expiry', async () => {
    p = await startPipeline({ knobs: { sessionMaxRequests: 8 } });
    const users = studentsWithCertificates(p.sandbox, 15);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status.certsFailed).toBe(0);
    const certs = await expectAllStoredWhole(p, users);
    expect(status.certsStored).toBe(certs);
    const expiries = p.sandbox.stats.sessionsExpired.maxRequests;
    expect(expiries).toBeGreaterThanOrEqual(Math.floor(certs / 8) - 1);
    // Concurrent jobs that see the same dead session share one login: never one per job.
    expect(p.sandbox.stats.webLogins).toBeLessThanOrEqual(expiries + 1);
    expect(p.sandbox.stats.failedLogins).toBe(0);
  }, 150_000);

  it('renews 2-second access tokens across a long batch without one invalid_grant', async () => {
    // One user listed at a time (pages of 200: one call each), so the API is in use for seconds.
    p = await startPipeline({
      sandbox: { userCount: 80 },
      knobs: { accessTokenTtlSeconds: 2, latencyMs: 60 },
      env: { DISCOVER_CONCURRENCY: '1' },
    });
    const users = studentsWithCertificates(p.sandbox, 50);
    const started = Date.now();
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(Date.now() - started).toBeGreaterThan(2_000); // the batch outlived several tokens
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    await expectAllStoredWhole(p, users);
    expect(p.sandbox.stats.tokenGrants.refresh_token).toBeGreaterThanOrEqual(2);
    expect(p.sandbox.stats.replayRejections).toBe(0);
    expect(p.sandbox.stats.tokenErrors).toBe(0);
  });

  it('lands every certificate whole through 5xx answers, truncated PDFs and 429s', async () => {
    p = await startPipeline({
      knobs: { errorRate: 0.15, truncateRate: 0.2, throttleRate: 0.15 },
      env: { DOWNLOAD_CONCURRENCY: '6' },
    });
    // Both truncation styles: a dropped connection and a clean close without Content-Length.
    const users = studentsWithCertificates(p.sandbox, 12);
    const first = users.slice(0, 6);
    const second = users.slice(6);
    const a = await p.submit({ users: first });
    const sa = await p.waitDone(a.batchId, 120_000);
    p.sandbox.setKnobs({ truncateStyle: 'connection-close' });
    const b = await p.submit({ users: second });
    const sb = await p.waitDone(b.batchId, 120_000);
    for (const s of [sa, sb]) expect(s).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    await expectAllStoredWhole(p, users);
    const stats = p.sandbox.stats;
    // The faults really happened.
    expect(stats.injected5xx).toBeGreaterThan(0);
    expect(stats.truncated).toBeGreaterThan(0);
    expect(stats.throttled429).toBeGreaterThan(0);
  }, 150_000);

  it('uses the bearer PDF route when the tenant has it, and no browser at all', async () => {
    p = await startPipeline({ knobs: { pdfApi: true } });
    const users = studentsWithCertificates(p.sandbox, 5);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    const certs = await expectAllStoredWhole(p, users);
    expect(status.certsStored).toBe(certs);
    expect(p.sandbox.stats.pdfApi).toBe(certs);
    expect(p.sandbox.stats.webLogins).toBe(0);
    const u = users[0]!;
    const c = p.sandbox.institution.certificatesOf(u)[0]!;
    const meta = JSON.parse(
      await readFile(path.join(p.outputDir, String(u), `${c.OrgUnitId}-${c.IssuedId}.json`), 'utf8'),
    );
    expect(meta.source).toBe('api');
  });
});

describe('a crashed browser', () => {
  it('is launched again when SIGKILLed around logins, and every certificate still lands whole', async () => {
    const { execFileSync } = await import('node:child_process');
    const children = () => {
      try {
        return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' });
      } catch {
        return ''; // pgrep exits 1 when there is none
      }
    };
    const chromiumPids = () =>
      children()
        .split('\n')
        .filter(Boolean)
        .filter((pid) => {
          try {
            return execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).includes('chrom');
          } catch {
            return false;
          }
        });
    // Sessions die every 6 renders, so logins keep happening while Chromium is killed.
    p = await startPipeline({ knobs: { latencyMs: 80, sessionMaxRequests: 6 } });
    const users = studentsWithCertificates(p.sandbox, 16);
    const { batchId } = await p.submit({ users });
    const pipe = () => p!;
    // Kill Chromium once it has logged in (it stays up, idle, between logins), then keep killing
    // it for a while: the next logins meet a dead browser, some of them halfway through.
    await sleepUntil(async () => ((await pipe().tracker.status(batchId))?.certsStored ?? 0) >= 3, 60_000);
    let kills = 0;
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      for (const pid of chromiumPids()) {
        process.kill(Number(pid), 'SIGKILL');
        kills++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(kills).toBeGreaterThan(0);
    const status = await p.waitDone(batchId, 120_000);
    expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    const certs = await expectAllStoredWhole(p, users);
    expect(status.certsStored).toBe(certs);
    expect(p.worker.session?.stats.launches).toBeGreaterThanOrEqual(2);
  }, 150_000);
});
