/** `certharvest doctor` as a command: the text, the JSON, the exit codes, and no secret in either. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { LINE_WIDTH, type DoctorReport } from '../../src/doctor/index.ts';
import { runCli, tempDir } from '../helpers/index.ts';
import {
  BASE_KNOBS,
  BRIGHTSPACE_CHECK_NAMES,
  secretsOf,
  startDoctorBench,
  type DoctorBench,
} from './harness.ts';

let bench: DoctorBench;
let cwd: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  bench = await startDoctorBench();
  cwd = await tempDir('doctor-cwd'); // no .env there: the environment is the whole configuration
});
afterAll(async () => {
  await bench?.close();
  await cwd?.cleanup();
});

const doctor = (args: string[], env: Record<string, string>) =>
  runCli(['doctor', ...args], { ...env, LOG_LEVEL: 'warn' }, cwd.dir);
const MARK = /^[✔✖!-] /;

describe('certharvest doctor', () => {
  it('a healthy tenant (two-factor on): exit 0, every check ✔, the same checks in --json, no secret', async () => {
    bench.sb.setKnobs({ twoFactor: true });
    try {
      const env = await bench.envFor(); // with LMS_TOTP_SECRET
      expect(env.LMS_TOTP_SECRET).toBeTruthy();

      const text = await doctor([], env);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(LINE_WIDTH);
      const marked = lines.filter((l) => MARK.test(l));
      expect(marked.map((l) => l.slice(2, 15).trim())).toEqual(BRIGHTSPACE_CHECK_NAMES);
      expect(marked.every((l) => l.startsWith('✔ '))).toBe(true);
      expect(text.stdout).toContain('two-factor: asked, and the LMS_TOTP_SECRET code was taken');
      expect(text.stdout).toMatch(/13 checks: 13 passed, 0 failed, 0 skipped\./);

      const json = await doctor(['--json'], env);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout) as DoctorReport;
      expect(report.ok).toBe(true);
      expect(report.lmsUrl).toBe(env.LMS_URL);
      expect(report.checks.map((c) => c.name)).toEqual(BRIGHTSPACE_CHECK_NAMES);
      expect(report.checks.every((c) => c.ok === true && c.found.length > 0)).toBe(true);

      const secrets = await secretsOf(bench.redis, env);
      expect(Object.keys(secrets)).toEqual(
        expect.arrayContaining(['LMS_PASSWORD', 'LMS_TOTP_SECRET', 'accessToken', 'refreshToken']),
      );
      expect(Object.keys(secrets).some((k) => k.startsWith('cookie '))).toBe(true);
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
        for (const [name, value] of Object.entries(secrets)) expect(out.includes(value), name).toBe(false);
        expect(out).not.toMatch(/d2l(Secure)?SessionVal=/);
      }
    } finally {
      bench.sb.setKnobs(BASE_KNOBS);
    }
  });

  it('a failing check: exit 1, the ✖ line with its fix, the checks after it that need it skipped', async () => {
    const env = await bench.envFor({ LMS_PASSWORD: 'wrong-password-123' });
    const run = await doctor(['--user', String(bench.sb.institution.students[0]!.UserId)], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✖ web login {5}web login as the service user failed/m);
    expect(run.stdout).toMatch(/^ {16}fix: fix LMS_USERNAME \/ LMS_PASSWORD/m);
    expect(run.stdout).toMatch(/^- render {8}skipped: needs web login/m);
    expect(run.stdout).toContain('Fix first: web login');
    expect(run.stdout).not.toContain('wrong-password-123');
  });

  it('usage errors: exit 2, naming the option', async () => {
    const run = await runCli(['doctor', '--issued-id', '10001'], {}, cwd.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--issued-id needs --user');
    // The same parsing in-process (no configuration is read before it).
    const said = vi.spyOn(console, 'error').mockImplementation(() => {});
    const written = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const [args, says] of [
        [['--issued-id', 'abc', '--user', '1'], '--issued-id: expected an IssuedId'],
        [['--user', 'userId:x'], '--user "userId:x" is not valid'],
        [['--user', ''], '--user "" is not valid'],
        [['--bogus'], "unknown option '--bogus'"],
      ] as const) {
        said.mockClear();
        written.mockClear();
        expect(await main(['doctor', ...args]), args.join(' ')).toBe(EXIT.USAGE);
        const stderr = [...said.mock.calls, ...written.mock.calls].map((c) => String(c[0])).join('');
        expect(stderr, args.join(' ')).toContain(says);
      }
    } finally {
      said.mockRestore();
      written.mockRestore();
    }
  });
});
