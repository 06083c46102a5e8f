/** `certharvest submit` filters: org units and issue dates, checked at the edge, applied by discovery. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBasDate } from '@certharvest/sandbox';
import { runCli } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(() => p?.close());

describe('submit filters', () => {
  it('--org-unit and --issued-after keep only the matching certificates', async () => {
    const users = studentsWithCertificates(p.sandbox, 8);
    const certs = users.flatMap((u) => p.sandbox.institution.certificatesOf(u));
    const orgUnit = certs[0]!.OrgUnitId;
    const after = '2025-01-01';
    const expected = certs.filter(
      (c) => c.OrgUnitId === orgUnit && fromBasDate(c.IssuedDate) >= new Date(after),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(certs.length); // the filter leaves some out
    const run = await runCli(
      [
        'submit',
        '--users',
        users.join(','),
        '--org-unit',
        String(orgUnit),
        '--issued-after',
        after,
        '--wait',
      ],
      { ...p.env, LOG_LEVEL: 'warn' },
    );
    expect(run.code).toBe(0);
    expect(Number(/stored:\s+(\d+)/.exec(run.stdout)?.[1])).toBe(expected.length);
  });

  it('a malformed filter is a usage error naming the flag (exit 2), nothing submitted', async () => {
    for (const [flag, value] of [
      ['--org-unit', '6606,,6610'],
      ['--issued-after', 'last week'],
      ['--issued-before', '2026-13-45'],
    ] as const) {
      const run = await runCli(['submit', '--users', '1', flag, value], { ...p.env, LOG_LEVEL: 'warn' });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(flag);
    }
  });

  it("a filter the site's pages cannot carry is refused at submit (exit 2), saying what to declare", async () => {
    // A Learn site without a site profile: its pages carry no expiry date.
    const learn = {
      ...p.env,
      ...p.sandbox.learnEnv,
      REDIS_URL: p.env.REDIS_URL!,
      QUEUE_PREFIX: p.env.QUEUE_PREFIX!,
      LOG_LEVEL: 'warn',
    };
    const run = await runCli(
      ['submit', '--users', '_5_1', '--skip-expired', '--batch-id', 'learn-expiry'],
      learn,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/includeExpired: false .*expiry.*achievements\.fields\.expires/s);
    expect(await p.tracker.exists('learn-expiry')).toBe(false);
  });
});
