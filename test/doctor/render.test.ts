/** `runDoctor` against the sandbox: one certificate through the render URL, and what can go wrong there. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.ts';
import { BASE_KNOBS, byName, certificateOwner, startDoctorBench, type DoctorBench } from './harness.ts';

let bench: DoctorBench;
beforeAll(async () => {
  bench = await startDoctorBench();
});
afterAll(() => bench?.close());
afterEach(() => bench.sb.setKnobs(BASE_KNOBS));

const doctor = (env: Record<string, string>, more: Parameters<typeof runDoctor>[0] = {}) =>
  runDoctor({ env, envFile: false, ...more });
/** Probe this certificate (the knobs below name it). */
const probing = (owner: ReturnType<typeof certificateOwner>) => ({
  user: { by: 'userId', value: String(owner.userId) } as const,
  issuedId: owner.issuedId,
});

describe('doctor: the render', () => {
  it('truncated bodies: the /pdf route and the render are ✖, not a whole PDF', async () => {
    bench.sb.setKnobs({ truncateRate: 1, truncateStyle: 'connection-close' });
    const report = await doctor(await bench.envFor());
    const checks = byName(report);
    for (const name of ['pdf route', 'render']) {
      expect(checks[name]!.ok, name).toBe(false);
      expect(checks[name]!.found, name).toMatch(/not a whole PDF \(no-eof-trailer\)/);
      expect(checks[name]!.fix, name).toMatch(/proxies/);
    }
    expect(checks['web login']!.ok).toBe(true);
  });

  it('a certificate the service user may not see (--user, --issued-id): render ✖ forbidden', async () => {
    const { sb } = bench;
    const owner = certificateOwner(sb);
    sb.setKnobs({ forbiddenIssuedIds: [owner.issuedId] });
    const report = await doctor(await bench.envFor(), probing(owner));
    const checks = byName(report);
    expect(checks.awards!.found).toContain(`IssuedId ${owner.issuedId} in org unit ${owner.orgUnitId}`);
    expect(checks.render).toMatchObject({ ok: false });
    expect(checks.render!.found).toContain('may not see this certificate');
    expect(checks.render!.fix).toContain('role');
  });

  it('an unreachable LMS: the token and the web login are ✖ with where to look', async () => {
    bench.sb.setKnobs({ unreachable: true });
    const env = await bench.envFor();
    const report = await doctor(env);
    const checks = byName(report);
    expect(checks.token).toMatchObject({ ok: false });
    expect(checks.token!.fix).toContain('OAUTH_TOKEN_URL');
    expect(checks['api versions']).toMatchObject({ ok: 'skipped' });
    expect(checks['web login']).toMatchObject({ ok: false });
    expect(checks['web login']!.fix).toContain(env.LMS_URL);
  });

  it('a session that dies before the render: ✖ "logged out", and no second login', async () => {
    const { sb } = bench;
    // The browser's landing on /d2l/home and the doctor's landing check are its two requests.
    sb.setKnobs({ sessionMaxRequests: 2 });
    const logins = sb.stats.webLogins;
    const report = await doctor(await bench.envFor());
    const checks = byName(report);
    expect(checks['web login']!.ok).toBe(true);
    expect(checks.render).toMatchObject({ ok: false });
    expect(checks.render!.found).toContain(
      'answered as logged out to the session the doctor had just logged in',
    );
    expect(checks.render!.fix).toContain('LMS_LOGIN_LANDING');
    expect(sb.stats.webLogins - logins).toBe(1);
  });

  it('renders throttled (429): ✖, try again later', async () => {
    const owner = certificateOwner(bench.sb);
    bench.sb.setKnobs({ renderThrottleFirst: 1, retryAfterSeconds: 7 });
    const render = byName(await doctor(await bench.envFor(), probing(owner))).render!;
    expect(render.ok).toBe(false);
    expect(render.found).toContain('HTTP 429 (rate limited)');
    expect(render.fix).toContain('throttles renders');
  });

  it('a render redirected to another host: ✖, not followed', async () => {
    const { sb } = bench;
    const owner = certificateOwner(sb);
    sb.setKnobs({ offHostRedirectIssuedIds: [owner.issuedId] });
    const before = sb.stats.offHostRequests;
    const render = byName(await doctor(await bench.envFor(), probing(owner))).render!;
    expect(render.ok).toBe(false);
    expect(render.found).toContain('redirected');
    expect(render.fix).toContain('another host');
    expect(sb.stats.offHostRequests).toBe(before);
  });

  it('a body past MAX_PDF_BYTES: ✖, cut', async () => {
    const { sb } = bench;
    const owner = certificateOwner(sb);
    sb.setKnobs({ hugeBodyIssuedIds: [owner.issuedId], hugeBodyBytes: 1_000_000 });
    const env = await bench.envFor({ MAX_PDF_BYTES: '100000', DOWNLOAD_STRATEGY: 'browser' });
    const report = await doctor(env, probing(owner));
    const checks = byName(report);
    expect(checks['pdf route']).toMatchObject({
      ok: 'skipped',
      found: 'not used: DOWNLOAD_STRATEGY=browser',
    });
    expect(checks.render).toMatchObject({ ok: false });
    expect(checks.render!.found).toContain('MAX_PDF_BYTES');
    expect(checks.render!.fix).toContain('MAX_PDF_BYTES');
  });
});
