/**
 * `runDoctor` against the sandbox, the web login: landing, two-factor, refusals, the fleet's gate,
 * and where the session goes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.ts';
import { FleetBreaker } from '../../src/fleet/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BASE_KNOBS,
  BRIGHTSPACE_CHECK_NAMES,
  byName,
  fleetSession,
  secretsOf,
  startDoctorBench,
  type DoctorBench,
} from './harness.ts';

let bench: DoctorBench;
beforeAll(async () => {
  bench = await startDoctorBench();
});
afterAll(() => bench?.close());
afterEach(() => bench.sb.setKnobs(BASE_KNOBS));

const doctor = (env: Record<string, string>, more: Parameters<typeof runDoctor>[0] = {}) =>
  runDoctor({ env, envFile: false, ...more });

describe('doctor: a healthy tenant', () => {
  it('passes every check; the first login becomes the fleet session, later ones are thrown away', async () => {
    const { sb, redis } = bench;
    const env = await bench.envFor();
    const logins = sb.stats.webLogins;

    const first = await doctor(env);
    expect(first.checks.map((c) => c.name)).toEqual(BRIGHTSPACE_CHECK_NAMES);
    expect(first.checks.filter((c) => c.ok !== true)).toEqual([]);
    expect(first.ok).toBe(true);
    expect(sb.stats.webLogins - logins).toBe(1);
    // The fleet had no session: the doctor's login is kept as its first.
    expect(byName(first)['web login']!.found).toContain("kept as the fleet's web session");
    expect((await fleetSession(redis, env))?.generation).toBe(1);

    const second = await doctor(env);
    expect(second.ok).toBe(true);
    expect(sb.stats.webLogins - logins).toBe(2); // one login per run, never more
    expect(byName(second)['web login']!.found).toContain('throw-away session');
    expect((await fleetSession(redis, env))?.generation).toBe(1); // the fleet's session left alone
    expect(await redis.keys(`${env.QUEUE_PREFIX}:doctor:*`)).toEqual([]); // the throw-away one removed

    const secrets = await secretsOf(redis, env);
    expect(Object.keys(secrets)).toEqual(
      expect.arrayContaining(['LMS_PASSWORD', 'OAUTH_CLIENT_SECRET', 'accessToken', 'refreshToken']),
    );
    expect(Object.keys(secrets).some((k) => k.startsWith('cookie '))).toBe(true);
    const text = JSON.stringify([first, second]);
    for (const [name, value] of Object.entries(secrets)) expect(text.includes(value), name).toBe(false);
  });
});

describe('doctor: the web login', () => {
  it('two-factor without LMS_TOTP_SECRET: ✖ naming it; the render is skipped', async () => {
    const { sb } = bench;
    sb.setKnobs({ twoFactor: true });
    const { LMS_TOTP_SECRET: _unused, ...env } = await bench.envFor();
    const prompts = sb.stats.twoFactorPrompts;
    const report = await doctor(env);
    const checks = byName(report);
    expect(report.ok).toBe(false);
    expect(checks['web login']).toMatchObject({ ok: false });
    expect(checks['web login']!.found).toMatch(/two-factor/);
    expect(checks['web login']!.fix).toContain('LMS_TOTP_SECRET');
    expect(checks.render).toMatchObject({ ok: 'skipped' });
    expect(sb.stats.twoFactorPrompts - prompts).toBe(1);
    // Everything that does not need the web login passed.
    for (const name of ['token', 'awards', 'pdf route', 'chromium', 'output dir']) {
      expect(checks[name]!.ok, name).toBe(true);
    }
  });

  it('a wrong password is posted once, not retried, and the fix names LMS_PASSWORD', async () => {
    const { sb } = bench;
    const env = await bench.envFor({ LMS_PASSWORD: 'not-the-password' });
    const [failed, ok] = [sb.stats.failedLogins, sb.stats.webLogins];
    const report = await doctor(env);
    const login = byName(report)['web login']!;
    expect(login.ok).toBe(false);
    expect(login.fix).toContain('LMS_PASSWORD');
    expect(login.fix).toContain('posted the password once');
    expect(sb.stats.failedLogins - failed).toBe(1);
    expect(sb.stats.webLogins - ok).toBe(0);
    expect(JSON.stringify(report)).not.toContain('not-the-password');
  });

  it('while the fleet holds logins back (LOGIN_REFUSED), nothing is posted and the doctor says so', async () => {
    const { sb, redis } = bench;
    const env = await bench.envFor();
    const breaker = new FleetBreaker({
      redis,
      prefix: env.QUEUE_PREFIX!,
      queues: [],
      logger: createLogger({ level: 'silent' }),
    });
    await breaker.holdLogins('web login as the service user failed: the LMS answered /d2l/login');
    await breaker.trip({ reason: 'LOGIN_REFUSED', message: 'the LMS refused the login', fix: 'fix it' });
    const posts = sb.stats.failedLogins + sb.stats.webLogins;
    const report = await doctor(env);
    const checks = byName(report);
    expect(checks.fleet).toMatchObject({ ok: false });
    expect(checks.fleet!.found).toContain('LOGIN_REFUSED');
    expect(checks['web login']).toMatchObject({ ok: false });
    expect(checks['web login']!.found).toMatch(/^not tried: the fleet holds web logins back/);
    expect(checks['web login']!.fix).toContain('certharvest resume');
    expect(sb.stats.failedLogins + sb.stats.webLogins).toBe(posts);
    // The doctor only reads the gate: the hold and the pause are still there.
    expect(await breaker.loginHold()).not.toBeNull();
    expect((await breaker.current())?.reason).toBe('LOGIN_REFUSED');
  });

  it('a terms-of-use page after the login: ✖ saying where the login stopped', async () => {
    bench.sb.setKnobs({ termsInterstitial: true });
    const report = await doctor(await bench.envFor());
    const login = byName(report)['web login']!;
    expect(login.ok).toBe(false);
    expect(login.found).toMatch(/stopped at \/d2l\/lp\/auth\/terms/);
    expect(login.fix).toContain('LMS_LOGIN_LANDING');
  });

  it('an SSO redirect in front of the login form: ✖ naming LMS_LOGIN_URL', async () => {
    bench.sb.setKnobs({ ssoRedirect: true });
    const login = byName(await doctor(await bench.envFor({ LMS_LOGIN_URL: '/d2l/login' })))['web login']!;
    expect(login.ok).toBe(false);
    expect(login.found).toContain('has no field');
    expect(login.fix).toContain('LMS_LOGIN_URL');
  });
});
