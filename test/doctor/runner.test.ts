/** The doctor's runner and its text output, without an LMS. */
import { describe, expect, it } from 'vitest';
import {
  DoctorState,
  fail,
  failureOf,
  formatResult,
  formatSummary,
  LINE_WIDTH,
  parseUserReference,
  pass,
  rule,
  runChecks,
  skip,
  SkipCheck,
  warn,
  wrap,
  type Check,
  type CheckResult,
} from '../../src/doctor/index.ts';

const check = (name: string, run: Check<unknown>['run'], needs?: string[], timeoutMs?: number) => ({
  name,
  run,
  ...(needs ? { needs } : {}),
  ...(timeoutMs ? { timeoutMs } : {}),
});

describe('runChecks', () => {
  it('skips what needs a failed check, transitively, without running it', async () => {
    const ran: string[] = [];
    const mark = (name: string, outcome = pass('fine')) => check(name, async () => (ran.push(name), outcome));
    const results = await runChecks(
      [
        mark('a', fail('broken', 'mend it')),
        { ...mark('b'), needs: ['a'] },
        { ...mark('c'), needs: ['b'] },
        mark('d'),
      ],
      undefined,
    );
    expect(ran).toEqual(['a', 'd']);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['a', false],
      ['b', 'skipped'],
      ['c', 'skipped'],
      ['d', true],
    ]);
    expect(results[1]!.found).toContain('needs a');
  });

  it('a warning, or a check that does not apply, does not stop the checks that need it', async () => {
    const results = await runChecks(
      [
        check('a', async () => warn('meh', 'tune it')),
        check('b', async () => skip('not used here')),
        check('c', async () => pass('ran'), ['a', 'b']),
      ],
      undefined,
    );
    expect(results.map((r) => r.ok)).toEqual(['warn', 'skipped', true]);
  });

  it('blocked: checks that failed in an earlier run skip the ones needing them', async () => {
    const results = await runChecks(
      [check('b', async () => pass('ran'), ['a']), check('c', async () => pass('ran'))],
      undefined,
      { blocked: ['a'] },
    );
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['b', 'skipped'],
      ['c', true],
    ]);
  });

  it('a check that throws or hangs fails with what happened; the rest still run', async () => {
    const results = await runChecks(
      [
        check('throws', async () => {
          throw new Error('boom');
        }),
        check('hangs', () => new Promise(() => {}), undefined, 50),
        check('after', async () => pass('ran')),
      ],
      undefined,
    );
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(results[0]!.found).toContain('boom');
    expect(results[1]!.found).toMatch(/hangs check did not finish within 50 ms/);
  });

  it('redacts found and fix, and tells each result as it comes', async () => {
    const told: string[] = [];
    const results = await runChecks(
      [check('a', async () => fail('password hunter2 refused', 'not hunter2'))],
      undefined,
      { redact: (t) => t.replaceAll('hunter2', '[redacted]'), onResult: (r) => told.push(r.name) },
    );
    expect(told).toEqual(['a']);
    expect(JSON.stringify(results)).not.toContain('hunter2');
  });
});

describe('typed parts and failure tables', () => {
  it('a check whose part was never made is skipped with why, and does not stop the checks after it', async () => {
    const state = new DoctorState({}, {} as never);
    const ran: string[] = [];
    const results = await runChecks(
      [
        { name: 'uses redis', run: async (s) => (s.need('redis'), pass('never')) },
        { name: 'after', needs: ['uses redis'], run: async () => (ran.push('after'), pass('ran')) },
        { name: 'throws', run: async () => Promise.reject(new SkipCheck('skipped: not here')) },
      ],
      state,
    );
    expect(results.map((r) => [r.name, r.ok, r.found])).toEqual([
      ['uses redis', 'skipped', 'skipped: Redis is not connected'],
      ['after', true, 'ran'],
      ['throws', 'skipped', 'skipped: not here'],
    ]);
    expect(ran).toEqual(['after']);
    await state.close();
  });

  it('failureOf: the first rule that matches decides found and fix; anything else is thrown again', () => {
    class Refused extends Error {
      constructor(readonly status: number) {
        super(`refused ${status}`);
      }
    }
    const rules = [
      rule(Refused, 'wait a minute', { when: (e) => e.status === 429 }),
      rule(Refused, (e) => `status ${e.status}`, { found: () => 'refused' }),
    ];
    expect(failureOf(new Refused(429), rules)).toEqual(fail('refused 429', 'wait a minute'));
    expect(failureOf(new Refused(403), rules)).toEqual(fail('refused', 'status 403'));
    const other = new TypeError('boom');
    expect(() => failureOf(other, rules)).toThrow(other);
  });
});

describe('text output', () => {
  const long: CheckResult = {
    name: 'web login',
    ok: false,
    found: `the LMS answered ${'https://school.example.edu/d2l/lp/auth/login/loginFailed.d2l?'.repeat(3)} after a very long wait`,
    fix: 'fix LMS_USERNAME / LMS_PASSWORD (or unlock the service user) and try again, as often as needed',
    ms: 1,
  };

  it('fits 80 columns, found and fix aligned under the name', () => {
    const text = formatResult(long);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(LINE_WIDTH);
    expect(text.startsWith('✖ web login     the LMS answered')).toBe(true);
    expect(text).toMatch(/\n {16}fix: fix LMS_USERNAME/);
    expect(formatResult({ name: 'redis', ok: true, found: 'fine', ms: 1 })).toBe('✔ redis         fine');
  });

  it('wraps words, and cuts a word longer than a line', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrap('', 10)).toEqual(['']);
  });

  it('the summary names the failed checks', () => {
    const checks: CheckResult[] = [
      { name: 'a', ok: true, found: '', ms: 0 },
      { name: 'b', ok: 'warn', found: '', ms: 0 },
      { name: 'c', ok: false, found: '', ms: 0 },
      { name: 'd', ok: 'skipped', found: '', ms: 0 },
    ];
    const text = formatSummary({ ok: false, lmsUrl: undefined, checks });
    expect(text).toContain('4 checks: 1 passed, 1 warning, 1 failed, 1 skipped.');
    expect(text).toContain('Fix first: c');
  });
});

describe('parseUserReference (--user)', () => {
  it.each([
    ['2401', { by: 'userId', value: '2401' }],
    ['userId:2401', { by: 'userId', value: '2401' }],
    ['jane.doe', { by: 'userName', value: 'jane.doe' }],
    ['userName:jane.doe', { by: 'userName', value: 'jane.doe' }],
    ['orgDefinedId:S1234567', { by: 'orgDefinedId', value: 'S1234567' }],
  ])('%s', (text, ref) => expect(parseUserReference(text)).toEqual(ref));

  it.each(['', '  ', 'userId:abc', 'userName:', 'orgDefinedId: '])('refuses "%s"', (text) =>
    expect(parseUserReference(text)).toBeUndefined(),
  );
});
