/** `runDoctor` against the sandbox's Blackboard Learn mode (LMS=blackboard, `sb.learnEnv`). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatResult, formatSummary, LINE_WIDTH, runDoctor } from '../../src/doctor/index.ts';
import {
  BASE_KNOBS,
  byName,
  certificateOwner,
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

/** The Learn worker configuration: the sandbox's Learn app and login, a fresh prefix, Redis and OUTPUT_DIR. */
async function learnEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const base = await bench.envFor();
  return {
    ...bench.sb.learnEnv,
    REDIS_URL: base.REDIS_URL!,
    QUEUE_PREFIX: base.QUEUE_PREFIX!,
    SECRETS_KEY: base.SECRETS_KEY!,
    OUTPUT_DIR: base.OUTPUT_DIR!,
    ...extra,
  };
}

const doctor = (env: Record<string, string>) => runDoctor({ env, envFile: false });
const NOT_APPLICABLE = ['api versions', 'whoami', 'pdf route'];

describe('doctor: Blackboard Learn', () => {
  it('a healthy site: exit 0, every applicable check ✔, the three Brightspace-only ones skipped', async () => {
    const env = await learnEnv();
    const { sb } = bench;
    const logins = sb.stats.learnWebLogins;
    const report = await doctor(env);
    const checks = byName(report);
    const text = [...report.checks.map((c) => formatResult(c)), formatSummary(report)].join('\n');
    expect(report.ok, text).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'configuration',
      'redis',
      'fleet',
      'token',
      'api versions',
      'whoami',
      'chromium',
      'web login',
      'user lookup',
      'awards',
      'pdf route',
      'render',
      'output dir',
    ]);
    for (const c of report.checks) {
      if (NOT_APPLICABLE.includes(c.name)) {
        expect(c.ok, c.name).toBe('skipped');
        expect(c.found, c.name).toMatch(/^not applicable: Learn has no /);
      } else {
        expect(c.ok, `${c.name}: ${c.found} ${c.fix ?? ''}`).toBe(true);
      }
    }
    expect(checks.token!.found).toMatch(
      /access token obtained \(client credentials\); access token valid until/,
    );
    expect(checks.token!.found).toContain('one token per site');
    expect(checks['user lookup']!.found).toMatch(
      new RegExp(`userName ${env.LMS_USERNAME} \\(the service user\\) is _\\d+_1 \\(userName `),
    );
    expect(checks['user lookup']!.found).toMatch(
      /REST calls today: \d+ of 10000; X-Rate-Limit: \d+ of \d+ left/,
    );
    expect(checks.awards!.found).toMatch(/\d+ courses? \(memberships\), \d+ Achievements pages? read/);
    expect(checks.awards!.found).toContain(
      'BB_ACHIEVEMENTS_URL /webapps/achievements/studentViewAchievements.form',
    );
    expect(checks.awards!.found).toMatch(/[1-9]\d* certificates?/);
    expect(checks.awards!.found).toMatch(/probing achievement _\d+_1 in course _\d+_1/);
    expect(checks.render!.found).toMatch(/application\/pdf, .*, a whole PDF/);
    expect(sb.stats.learnWebLogins - logins).toBe(1);
    expect(sb.stats.learnCertificateDownloads).toBeGreaterThan(0);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(LINE_WIDTH);
    const json = JSON.stringify(report);
    const secrets = await secretsOf(bench.redis, env);
    expect(Object.keys(secrets)).toEqual(
      expect.arrayContaining(['LMS_PASSWORD', 'OAUTH_CLIENT_SECRET', 'accessToken']),
    );
    for (const [name, value] of Object.entries(secrets)) expect(json, name).not.toContain(value);
  }, 120_000);

  it('--user orgDefinedId:X (externalId) and --issued-id: that user, that certificate', async () => {
    const { sb } = bench;
    const owner = certificateOwner(sb);
    const student = sb.institution.students.find((u) => u.UserId === owner.userId)!;
    const report = await runDoctor({
      env: await learnEnv(),
      envFile: false,
      user: { by: 'orgDefinedId', value: student.OrgDefinedId },
      issuedId: owner.issuedId,
    });
    const checks = byName(report);
    expect(checks['user lookup']!.found).toContain(
      `orgDefinedId (externalId) ${student.OrgDefinedId} is _${owner.userId}_1 (userName ${student.UserName}`,
    );
    expect(checks.awards!.found).toMatch(new RegExp(`^user _${owner.userId}_1: `));
    expect(checks.awards!.found).toContain(
      `probing achievement _${owner.issuedId}_1 in course _${owner.orgUnitId}_1`,
    );
    expect(checks.render).toMatchObject({ ok: true });
    expect(checks.render!.found).toContain(`for _${owner.issuedId}_1`);
  }, 120_000);

  it('a wrong password: web login ✖ once, awards and render skipped', async () => {
    const { sb } = bench;
    const failed = sb.stats.learnFailedLogins;
    const report = await doctor(await learnEnv({ LMS_PASSWORD: 'not-the-password' }));
    const checks = byName(report);
    expect(report.ok).toBe(false);
    expect(checks['web login']).toMatchObject({ ok: false });
    expect(checks['web login']!.fix).toContain('LMS_USERNAME / LMS_PASSWORD');
    expect(sb.stats.learnFailedLogins - failed).toBe(1);
    expect(checks['user lookup']!.ok).toBe(true);
    expect(checks.awards).toMatchObject({ ok: 'skipped' });
    expect(checks.awards!.found).toContain('web login');
    expect(checks.render).toMatchObject({ ok: 'skipped' });
    expect(JSON.stringify(report)).not.toContain('not-the-password');
  }, 120_000);

  it('hostile pages: awards reports the refused items with their code, and the render still works', async () => {
    bench.sb.setKnobs({ learnHostile: true });
    const report = await doctor(await learnEnv());
    const checks = byName(report);
    expect(['warn', true]).toContain(checks.awards!.ok);
    expect(checks.awards!.found).toMatch(
      /[1-9]\d* refused items? \(first: .*: (LMS_DATA_INVALID|ID_UNSAFE|REDIRECT_OFF_HOST)/,
    );
    expect(checks.awards!.fix).toContain('fails alone');
    expect(checks.render!.ok).toBe(true);
    expect(report.ok).toBe(true);
  }, 120_000);

  it('a wrong BB_ACHIEVEMENTS_URL: awards ✖, with the BB_ settings to check', async () => {
    const report = await doctor(
      await learnEnv({ BB_ACHIEVEMENTS_URL: '/webapps/nothing.form?course_id={courseId}&user_id={userId}' }),
    );
    const checks = byName(report);
    expect(checks['web login']!.ok).toBe(true);
    expect(checks.awards).toMatchObject({ ok: false });
    expect(checks.awards!.found).toContain('/webapps/nothing.form');
    expect(checks.awards!.found).toMatch(/0 Achievements pages read \(\d+ refused, first: course _\d+_1: /);
    expect(checks.awards!.fix).toContain('BB_ACHIEVEMENTS_URL');
    expect(checks.awards!.fix).toContain('BB_*_SELECTOR');
    expect(checks.awards!.fix).toContain('docs/blackboard.md');
    expect(checks.awards!.found).toMatch(/^user _\d+_1: /); // one user's pages were enough to tell
    expect(checks.render).toMatchObject({ ok: 'skipped' });
  }, 120_000);
});
