/**
 * `runDoctor` against the sandbox, the checks that need no web login: configuration, Redis, the
 * token, API versions, lookups, the bearer `/pdf` route, OUTPUT_DIR and Chromium. Most runs switch
 * the web login off (faster, and beside the point here).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.ts';
import { tempDir, testRedisUrl } from '../helpers/index.ts';
import { BASE_KNOBS, byName, NO_WEB_LOGIN, startDoctorBench, type DoctorBench } from './harness.ts';

let bench: DoctorBench;
beforeAll(async () => {
  bench = await startDoctorBench();
});
afterAll(() => bench?.close());
afterEach(() => bench.sb.setKnobs(BASE_KNOBS));

const doctor = (env: Record<string, string>) => runDoctor({ env, envFile: false });
/** The API-only setup: bearer /pdf downloads, no web login, so no Chromium. */
const apiOnly = (extra: Record<string, string> = {}) =>
  bench.envFor({ ...NO_WEB_LOGIN, DOWNLOAD_STRATEGY: 'api', ...extra });

describe('doctor: the token', () => {
  it('a revoked refresh token: token ✖ with the bootstrap fix; the API checks are skipped', async () => {
    const env = await apiOnly();
    expect((await doctor(env)).ok).toBe(true); // imported and rotated once
    await bench.sb.revokeRefreshTokens();
    const report = await doctor(env);
    const checks = byName(report);
    expect(report.ok).toBe(false);
    expect(checks.token).toMatchObject({ ok: false });
    expect(checks.token!.found).toContain('invalid_grant');
    expect(checks.token!.fix).toContain('certharvest auth bootstrap --refresh-token -');
    for (const name of ['api versions', 'whoami', 'user lookup', 'awards', 'pdf route']) {
      expect(checks[name]!.ok, name).toBe('skipped');
    }
    expect(checks['output dir']!.ok).toBe(true);
  });

  it('names the scopes granted', async () => {
    const report = await doctor(await apiOnly());
    expect(byName(report).token!.found).toContain('scopes granted: core:*:*');
  });
});

describe('doctor: the bearer /pdf route', () => {
  it('missing with DOWNLOAD_STRATEGY=api: ✖, use auto with a web login', async () => {
    bench.sb.setKnobs({ pdfApi: false });
    const report = await doctor(await apiOnly());
    const checks = byName(report);
    expect(checks['pdf route']).toMatchObject({ ok: false });
    expect(checks['pdf route']!.found).toContain('not offered by this LMS (HTTP 404)');
    expect(checks['pdf route']!.fix).toContain('DOWNLOAD_STRATEGY=auto');
    expect(checks.chromium!.ok).toBe('skipped');
    expect(checks['web login']!.ok).toBe('skipped');
    expect(checks.render!.ok).toBe('skipped');
  });

  it('missing with auto: fine, unless there is no web login either', async () => {
    bench.sb.setKnobs({ pdfApi: false });
    const report = await doctor(await bench.envFor(NO_WEB_LOGIN));
    const checks = byName(report);
    expect(checks['pdf route']).toMatchObject({ ok: true });
    expect(checks['pdf route']!.found).toContain('certificates come through the web session');
    expect(checks['web login']).toMatchObject({ ok: false });
    expect(checks['web login']!.found).toContain('nothing can be downloaded');
    expect(checks['web login']!.fix).toContain('LMS_USERNAME');
  });

  it('the scope missing: ✖ with DOWNLOAD_STRATEGY=api, a warning with auto (exit stays 0)', async () => {
    bench.sb.setKnobs({ pdfApiScopeMissing: true });
    const api = byName(await doctor(await apiOnly()))['pdf route']!;
    expect(api.ok).toBe(false);
    expect(api.found).toContain('awards:certificate:read');
    expect(api.fix).toMatch(/awards:certificate:read .*OAUTH_SCOPE.*auth bootstrap/);

    const report = await doctor(await bench.envFor());
    const auto = byName(report);
    expect(auto['pdf route']).toMatchObject({ ok: 'warn' });
    expect(auto['pdf route']!.found).toContain('through the web session');
    expect(auto.render).toMatchObject({ ok: true });
    expect(report.ok).toBe(true);
  });

  it('a body cut short (Content-Length announced): ✖ with what broke', async () => {
    bench.sb.setKnobs({ truncateRate: 1, truncateStyle: 'content-length' });
    const route = byName(await doctor(await apiOnly()))['pdf route']!;
    expect(route.ok).toBe(false);
    expect(route.found).toMatch(/reading the body failed|not a whole PDF/);
    expect(route.fix).toContain('proxies');
  });
});

describe('doctor: API versions', () => {
  it('a tenant offering only newer versions: a warning, and the calls work', async () => {
    bench.sb.setKnobs({ newerApiVersions: true });
    const report = await doctor(await apiOnly());
    const checks = byName(report);
    expect(checks['api versions']).toMatchObject({ ok: 'warn' });
    expect(checks['api versions']!.found).toMatch(/lp 1\.54, bas 1\.5; .*newer than this client knows/);
    expect(checks['api versions']!.fix).toContain('LP_VERSION / BAS_VERSION');
    expect(checks.whoami!.ok).toBe(true);
    expect(checks['pdf route']!.ok).toBe(true);
    expect(report.ok).toBe(true);
  });

  it('a forced version the LMS does not serve (BAS_VERSION): warned, then ✖ where the route is used', async () => {
    const report = await doctor(await apiOnly({ BAS_VERSION: '1.9' }));
    const checks = byName(report);
    expect(checks['api versions']).toMatchObject({ ok: 'warn' });
    expect(checks['api versions']!.found).toContain('BAS_VERSION=1.9 is not among');
    expect(checks['user lookup']!.ok).toBe(true); // lp routes are fine
    expect(checks.awards).toMatchObject({ ok: false });
    expect(checks.awards!.found).toContain('bas routes are not served');
    expect(checks.awards!.fix).toContain('unset BAS_VERSION');
    expect(checks['pdf route']!.ok).toBe('skipped');
  });
});

describe('doctor: the machine', () => {
  it('the configuration incomplete: each problem named; what can run without it still runs', async () => {
    const { LMS_URL: _url, SECRETS_KEY: _key, ...env } = await apiOnly();
    const report = await doctor(env);
    const checks = byName(report);
    expect(checks.configuration).toMatchObject({ ok: false });
    expect(checks.configuration!.found).toMatch(/LMS_URL: .*SECRETS_KEY: /);
    expect(checks.redis!.ok).toBe(true);
    expect(checks.fleet!.ok).toBe(true);
    expect(checks.token!.ok).toBe('skipped');
    expect(checks['output dir']!.ok).toBe(true);
  });

  it('a malformed variable: ✖ naming it, never echoing a secret value', async () => {
    const report = await doctor(
      await apiOnly({ SECRETS_KEY: 'too-short-secret-value', MAX_PDF_BYTES: 'lots' }),
    );
    const config = byName(report).configuration!;
    expect(config.ok).toBe(false);
    expect(config.found).toContain('SECRETS_KEY: expected 32 random bytes');
    expect(config.found).toContain('MAX_PDF_BYTES');
    expect(JSON.stringify(report)).not.toContain('too-short-secret-value');
    expect(report.checks.filter((c) => c.ok !== 'skipped').map((c) => c.name)).toEqual(['configuration']);
  });

  it('OUTPUT_DIR not a folder, and a CHROMIUM_PATH that is no browser: both ✖, the login skipped', async () => {
    const dir = await tempDir('doctor-file');
    try {
      const file = path.join(dir.dir, 'not-a-folder');
      await writeFile(file, 'x');
      const report = await doctor(await bench.envFor({ OUTPUT_DIR: file, CHROMIUM_PATH: '/bin/false' }));
      const checks = byName(report);
      expect(checks['output dir']).toMatchObject({ ok: false });
      expect(checks['output dir']!.found).toContain('is not writable');
      expect(checks['output dir']!.fix).toContain('OUTPUT_DIR');
      expect(checks.chromium).toMatchObject({ ok: false });
      expect(checks.chromium!.fix).toContain('CHROMIUM_PATH');
      expect(checks['web login']!.ok).toBe('skipped');
      expect(checks.render!.ok).toBe('skipped');
      expect(checks['pdf route']!.ok).toBe(true); // the API side does not need either
    } finally {
      await dir.cleanup();
    }
  });

  it('Redis without persistence: a warning, not a failure', async () => {
    const report = await doctor(await apiOnly({ REDIS_URL: testRedisUrl() }));
    const redis = byName(report).redis!;
    expect(redis.ok).toBe('warn');
    expect(redis.found).toContain('persistence: none');
    expect(redis.fix).toContain('appendonly yes');
    expect(report.ok).toBe(true);
  });

  it('Redis not there: ✖, and everything that needs it skipped', async () => {
    const report = await doctor(await apiOnly({ REDIS_URL: 'redis://127.0.0.1:1' }));
    const checks = byName(report);
    expect(checks.redis).toMatchObject({ ok: false });
    expect(checks.redis!.fix).toContain('REDIS_URL');
    for (const name of ['fleet', 'token', 'api versions']) expect(checks[name]!.ok, name).toBe('skipped');
  });
});
