import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  batchEtaSeconds,
  certProgress,
  progressBar,
  progressLine,
  summary,
} from '../../src/cli/batch-report.ts';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import { etaSeconds, formatDuration, formatRate, RateMeter } from '../../src/cli/progress-rate.ts';
import { watchBatch, wrapText } from '../../src/cli/watch-batch.ts';
import type { PauseRecord } from '../../src/fleet/index.ts';
import { batchState, type BatchStatus } from '../../src/queue/index.ts';

function status(over: Partial<BatchStatus> = {}): BatchStatus {
  const s = {
    batchId: 'b-test',
    createdAt: '2026-01-01T00:00:00.000Z',
    by: 'userId',
    enumerating: false,
    done: false,
    failures: [],
    usersTotal: 10,
    usersDone: 0,
    usersFailed: 0,
    certsFound: 0,
    certsStored: 0,
    certsAlreadyStored: 0,
    certsFailed: 0,
    badgesIgnored: 0,
    usersCancelled: 0,
    certsCancelled: 0,
    ...over,
  };
  return { ...s, state: over.state ?? batchState(s) };
}

/** Columns a line takes (our text is ASCII plus "—"). */
const cols = (line: string) => [...line].length;

/**
 * A small terminal: applies what log-update writes (CR, LF, erase line, cursor up/down/left) to a
 * screen `columns` wide, wrapping a line that runs past the edge like a real terminal does (which
 * is how a too-wide bar stacks). Returns the screen's rows, trailing blanks trimmed.
 */
function screen(output: string, columns: number): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (rows[row] ??= []);
  // eslint-disable-next-line no-control-regex -- it parses escape sequences
  for (const m of output.matchAll(/\x1b\[(\??)(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]/gu)) {
    const [all, priv, num, cmd] = m;
    if (cmd) {
      const n = num === '' ? undefined : Number(num);
      if (priv === '?') continue; // cursor visibility, synchronized output
      if (cmd === 'A') row = Math.max(0, row - (n ?? 1));
      else if (cmd === 'B') row += n ?? 1;
      else if (cmd === 'G') col = (n ?? 1) - 1;
      else if (cmd === 'K' && n === 2) rows[row] = [];
      else if (cmd === 'K') line().length = Math.min(line().length, col);
      else throw new Error(`unexpected escape ${JSON.stringify(all)}`);
    } else if (all === '\r') col = 0;
    else if (all === '\n') {
      row++;
      col = 0; // a terminal's line discipline turns LF into CR LF
    } else {
      if (col >= columns) {
        row++;
        col = 0;
      }
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = all;
    }
  }
  const text = Array.from({ length: rows.length }, (_, i) => (rows[i] ?? []).join('').trimEnd());
  while (text.length > 0 && text.at(-1) === '') text.pop();
  return text;
}

describe('rate and ETA (injected clock)', () => {
  it('has no rate until the samples span a second, then items/s', () => {
    let now = 0;
    const meter = new RateMeter({ now: () => now });
    expect(meter.rate()).toBeNull();
    meter.record(0);
    now = 500;
    meter.record(10);
    expect(meter.rate()).toBeNull();
    now = 2_000;
    meter.record(20);
    expect(meter.rate()).toBe(10);
  });

  it('smooths over the last ~10 s only', () => {
    let now = 0;
    const meter = new RateMeter({ windowMs: 10_000, now: () => now });
    let done = 0;
    // 20 s at 5/s, then 15 s at 1/s (a sample every 250 ms).
    for (; now <= 20_000; now += 250) meter.record((done = now / 200));
    expect(meter.rate()).toBeCloseTo(5, 5);
    for (; now <= 35_000; now += 250) meter.record((done += 0.25));
    expect(meter.rate()).toBeCloseTo(1, 5);
  });

  it('falls to 0 when nothing moves, and the ETA becomes unknown', () => {
    let now = 0;
    const meter = new RateMeter({ now: () => now });
    for (; now <= 15_000; now += 1_000) meter.record(42);
    expect(meter.rate()).toBe(0);
    expect(etaSeconds(100, meter.rate())).toBeNull();
  });

  it('ETA is what is left over the rate; 0 when nothing is left; unknown without a rate', () => {
    expect(etaSeconds(100, 10)).toBe(10);
    expect(etaSeconds(0, null)).toBe(0);
    expect(etaSeconds(null, 5)).toBeNull();
    expect(etaSeconds(5, null)).toBeNull();
  });

  it('formats durations as h/m/s and rates short', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(41.2)).toBe('42s');
    expect(formatDuration(312)).toBe('5m 12s');
    expect(formatDuration(7_500)).toBe('2h 05m');
    expect(formatDuration(1e7)).toBe('>99h');
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0.42)).toBe('0.4');
    expect(formatRate(123.4)).toBe('123');
    expect(formatRate(12_345)).toBe('12.3k');
  });

  it('a batch expects certificates in proportion to the users discovered so far', () => {
    const s = status({ usersTotal: 100, usersDone: 9, usersFailed: 1, certsFound: 50, certsStored: 20 });
    expect(certProgress(s)).toMatchObject({ done: 20, found: 50, complete: false, expected: 500 });
    expect(batchEtaSeconds(s, 10)).toBe(48);
    expect(batchEtaSeconds(s, null)).toBeNull();
    expect(batchEtaSeconds(status({ enumerating: true, usersDone: 5, certsFound: 5 }), 10)).toBeNull();
    expect(batchEtaSeconds(status({ usersDone: 10, certsFound: 30, certsStored: 10 }), 4)).toBe(5);
    expect(batchEtaSeconds(status({ done: true }), null)).toBe(0);
  });
});

describe('progressBar fits the terminal', () => {
  const small = status({ usersDone: 3, certsFound: 12, certsStored: 4, certsFailed: 1 });
  const large = status({
    usersTotal: 100_000,
    usersDone: 99_000,
    usersFailed: 1_000,
    certsFound: 100_000,
    certsStored: 60_000,
    certsAlreadyStored: 30_000,
    certsFailed: 10_000,
    done: true,
  });
  const enumerating = status({
    enumerating: true,
    usersTotal: 54_321,
    usersDone: 12_345,
    certsFound: 99_999,
  });
  const figures = [
    undefined,
    { rate: 12.3, etaSeconds: 312 },
    { rate: 12_345, etaSeconds: 1e9 },
    { rate: null, etaSeconds: null },
    { rate: 0, etaSeconds: null, paused: true },
  ];

  for (const columns of [40, 80, 120]) {
    it(`never wider than ${columns - 1} columns (${columns}-column terminal)`, () => {
      for (const s of [small, large, enumerating, status()]) {
        for (const f of figures) {
          const line = progressBar(s, columns, f);
          expect(cols(line), line).toBeLessThanOrEqual(columns - 1);
          // The certificate count always stays; the bar stays at 40 columns and up.
          expect(line).toMatch(/\d+\/\d+/);
          expect(line.startsWith('[')).toBe(true);
          if (f?.paused && columns >= 80) expect(line).toContain('PAUSED');
          if (f && !f.paused && columns >= 80) expect(line).toContain('ETA');
        }
      }
    });
  }

  it('shows everything when there is room', () => {
    const line = progressBar(small, 120, { rate: 2.5, etaSeconds: 75 });
    expect(line).toMatch(/^\[#+-+\] +\d+% +certs 5\/12\+ +1 failed +2\.5 certs\/s +ETA 1m 15s +users 3\/10$/);
  });

  it('keeps the bar, count, failed and ETA at 40 columns for a batch of hundreds', () => {
    const s = status({ usersDone: 10, certsFound: 174, certsStored: 100, certsFailed: 12 });
    expect(progressBar(s, 40, { rate: 30, etaSeconds: 5 })).toMatch(/^\[#+-+\] 112\/174 12 failed ETA 5s$/);
  });

  it('word-wraps messages printed above the bar to the width', () => {
    const text = wrapText('The fleet is PAUSED since 2026-01-01 (LMS_UNREACHABLE)\n  fix: wait', 20);
    expect(text.split('\n')).toEqual([
      'The fleet is PAUSED',
      '  since 2026-01-01',
      '  (LMS_UNREACHABLE)',
      '  fix: wait',
    ]);
    for (const line of wrapText('x'.repeat(50), 20).split('\n')) expect(cols(line)).toBeLessThan(20);
  });

  it('still fits a very narrow terminal', () => {
    for (const columns of [1, 5, 12, 20]) {
      const line = progressBar(large, columns, { rate: 1, etaSeconds: 1 });
      expect(cols(line)).toBeLessThanOrEqual(Math.max(1, columns - 1));
    }
  });

  it('the plain line counts failed users: a batch whose users failed never reads as "failed 0"', () => {
    const failed = status({ usersTotal: 2, usersFailed: 2, done: true });
    expect(failed.state).toBe('done-with-failures');
    expect(progressLine(failed)).toMatch(/users 2\/2 \(failed 2\) · certificates 0\/0/);
    const cancelled = status({
      usersTotal: 3,
      usersDone: 1,
      usersCancelled: 2,
      certsFound: 4,
      certsStored: 1,
      certsCancelled: 3,
    });
    expect(progressLine(cancelled)).toMatch(
      /users 3\/3 \(failed 0, cancelled 2\) · certificates 4\/4 \(stored 1, already stored 0, failed 0, cancelled 3\)/,
    );
  });

  it('the plain line carries the rate and ETA', () => {
    expect(progressLine(small, { rate: 2.5, etaSeconds: 75 })).toMatch(
      /certificates 5\/12 .* · 2\.5 certificates\/s · ETA 1m 15s$/,
    );
    expect(progressLine(small)).not.toContain('ETA');
  });
});

describe('a batch summary and exit code come from its state', () => {
  it('the summary starts with the state and names the linked batches', () => {
    const s = status({
      usersTotal: 2,
      usersDone: 1,
      usersFailed: 1,
      done: true,
      retryOf: 'spring',
      failures: [{ kind: 'user', ref: 'userId 2', code: 'LMS_USER_NOT_FOUND', reason: 'gone', at: '' }],
    });
    const text = summary(s);
    expect(text.split('\n')[0]).toBe('Batch b-test: done-with-failures');
    expect(text).toMatch(/retry of: +spring/);
    expect(text).toMatch(/retry the failures: +certharvest retry b-test/);
    expect(summary({ ...s, retriedBy: 'b-test.retry-1' })).not.toContain('retry the failures');
    expect(summary(status({ cancelledAt: '2026-01-01T00:00:00.000Z' })).split('\n')[0]).toBe(
      'Batch b-test: cancelling',
    );
  });

  it('exit codes: done 0; done-with-failures and cancelled 1; running and cancelling 3', () => {
    expect(exitCodeOf('done')).toBe(0);
    expect(exitCodeOf('done-with-failures')).toBe(1);
    expect(exitCodeOf('cancelled')).toBe(1);
    expect(exitCodeOf('running')).toBe(3);
    expect(exitCodeOf('cancelling')).toBe(3);
  });
});

describe('watchBatch', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A batch of `total` certificates over 10 users, `steps` polls long; every poll is 1 s later. */
  function fakeRun(total: number, steps: number, pauseAt?: [number, number]) {
    vi.useFakeTimers({ toFake: ['Date'] });
    let poll = 0;
    const at = (i: number): BatchStatus => {
      const f = Math.min(1, i / steps);
      const users = Math.round(10 * Math.min(1, f * 2));
      return status({
        usersDone: users,
        certsFound: Math.round(total * Math.min(1, f * 2)),
        certsStored: Math.round(total * f * 0.9),
        certsFailed: Math.round(total * f * 0.1),
        done: i >= steps,
      });
    };
    const tracker = {
      status: async () => {
        vi.setSystemTime(Date.now() + 1_000);
        return at(poll++);
      },
    };
    const pause: PauseRecord = {
      reason: 'LMS_UNREACHABLE',
      message: 'no answer',
      fix: 'wait',
      since: '2026-01-01T00:00:00.000Z',
      by: 'host:1',
    };
    const breaker = {
      current: async () => (pauseAt && poll > pauseAt[0] && poll <= pauseAt[1] ? pause : null),
    };
    return { tracker, breaker, final: () => at(steps) };
  }

  for (const columns of [40, 80, 120]) {
    it(`a TTY run ends with one final line and a newline, pause messages intact (${columns} columns)`, async () => {
      const { tracker, breaker, final } = fakeRun(100_000, 30, [6, 14]);
      let out = '';
      const result = await watchBatch(tracker, 'b-test', {
        tty: true,
        columns,
        pollMs: 0,
        breaker,
        write: (t) => (out += t),
      });
      expect(result).toEqual(final());
      expect(out.endsWith('\n')).toBe(true);
      expect(out.endsWith('\n\n')).toBe(false);
      const rows = screen(out, columns);
      for (const row of rows) expect(cols(row), row).toBeLessThan(columns);
      // What stays on screen: the pause and resume messages, then exactly one bar (the last).
      const pauseLines = rows.filter((r) => !r.startsWith('['));
      expect(rows.filter((r) => r.startsWith('['))).toHaveLength(1);
      expect(rows.at(-1)!.startsWith('[')).toBe(true);
      expect(rows.at(-1)).toContain('100000/100000');
      expect(rows.at(-1)).toMatch(/^\[#+\]/);
      // Word-wrapped to the width where it is wider (not cut mid-word by the terminal).
      const words = (lines: string[]) => lines.join(' ').split(/\s+/).filter(Boolean);
      expect(words(pauseLines)).toEqual(
        words([
          'The fleet is PAUSED since 2026-01-01T00:00:00.000Z (LMS_UNREACHABLE): no answer',
          '  fix: wait',
          '  It resumes by itself once the cause is gone; `certharvest resume` resumes it by hand.',
          'waiting for the fleet to resume…',
          'the fleet resumed; the batch goes on.',
        ]),
      );
      if (columns >= 120) expect(pauseLines).toHaveLength(5);
    });
  }

  it('a TTY run that times out still ends its line', async () => {
    const { tracker } = fakeRun(50, 1_000);
    let out = '';
    const result = await watchBatch(tracker, 'b-test', {
      tty: true,
      columns: 80,
      pollMs: 0,
      timeoutMs: 3_000,
      write: (t) => (out += t),
    });
    expect(result.done).toBe(false);
    expect(out.endsWith('\n')).toBe(true);
    expect(screen(out, 80)).toHaveLength(1);
  });

  it('the bar shows a rate and an ETA once it has a few seconds of history', async () => {
    const { tracker } = fakeRun(1_000, 40);
    const frames: string[] = [];
    await watchBatch(tracker, 'b-test', {
      tty: true,
      columns: 120,
      pollMs: 0,
      write: (t) => frames.push(t),
    });
    const text = frames.join('');
    expect(text).toMatch(/ETA \d+s/);
    expect(text).toMatch(/\d+ certs\/s/);
  });

  it('stops when its signal aborts (Ctrl-C), with the status last read', async () => {
    const controller = new AbortController();
    let polls = 0;
    const tracker = {
      status: async () => {
        if (++polls === 1) setTimeout(() => controller.abort('SIGINT'), 5);
        return status({ usersDone: polls });
      },
    };
    const result = await watchBatch(tracker, 'b-test', {
      tty: false,
      pollMs: 60_000, // the abort cuts the wait short
      signal: controller.signal,
      write: () => {},
    });
    expect(result.done).toBe(false);
    expect(polls).toBe(1);
  });

  it('plain mode prints plain lines with the rate and ETA, no escape codes', async () => {
    const { tracker } = fakeRun(1_000, 20);
    let out = '';
    await watchBatch(tracker, 'b-test', {
      tty: false,
      pollMs: 0,
      plainEveryMs: 5_000,
      write: (t) => (out += t),
    });
    expect(out).not.toContain('\x1b');
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.length).toBeLessThan(10);
    for (const line of lines) expect(line).toMatch(/certificates\/s · (ETA \S+|paused)$/);
    expect(lines.at(-1)).toMatch(/certificates 1000\/1000 .*ETA 0s$/);
  });
});
