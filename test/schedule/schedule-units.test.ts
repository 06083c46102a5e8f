/** The pieces of `certharvest schedule` that need no Redis: durations, cron, names, ids, the table. */
import { describe, expect, it } from 'vitest';
import { scheduleTable } from '../../src/cli/commands/schedule.ts';
import {
  batchIdSchema,
  firingBatchId,
  formatEvery,
  nextCronFiring,
  parseEvery,
  SCHEDULE_NAME_MAX,
  ScheduleInvalidError,
  scheduleTemplateSchema,
  type ScheduleInfo,
} from '../../src/queue/index.ts';
import { firingTimeOf } from '../../jobs/scheduled-batches.ts';

describe('--every', () => {
  it('takes a whole number and one unit', () => {
    expect(parseEvery('24h')).toBe(86_400_000);
    expect(parseEvery('30m')).toBe(1_800_000);
    expect(parseEvery('7d')).toBe(7 * 86_400_000);
    expect(parseEvery('2s')).toBe(2_000);
  });

  it('refuses anything else', () => {
    for (const bad of [
      '5x',
      '',
      '24',
      'h',
      '0h',
      '01h',
      '-1h',
      '1.5h',
      '24 h',
      '24H',
      '1h30m',
      '367d',
      ' 24h',
    ])
      expect(parseEvery(bad), bad).toBeUndefined();
  });

  it('is shown in its largest whole unit', () => {
    expect(formatEvery(86_400_000)).toBe('1d');
    expect(formatEvery(5_400_000)).toBe('90m');
    expect(formatEvery(2_000)).toBe('2s');
  });
});

describe('--cron', () => {
  it('gives the next firing, in the time zone asked', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(new Date(nextCronFiring('0 2 * * *', undefined, now)).toISOString()).toBe(
      '2026-12-05T02:00:00.000Z',
    );
    expect(new Date(nextCronFiring('0 2 * * *', 'Europe/Paris', now)).toISOString()).toBe(
      '2026-12-05T01:00:00.000Z',
    );
  });

  it('names what is wrong', () => {
    const problem = (pattern: string, tz?: string) => {
      try {
        nextCronFiring(pattern, tz);
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ScheduleInvalidError);
        return (err as Error).message;
      }
    };
    expect(problem('61 * * * *')).toMatch(/cron pattern "61 \* \* \* \*".*0-59/);
    expect(problem('0 2 * *')).toMatch(/expected 5 fields/);
    expect(problem('0 0 30 2 *')).toMatch(/cron pattern/);
    expect(problem('0 2 * * *', 'Mars/Base')).toMatch(/time zone "Mars\/Base"/);
  });
});

describe('names and batch ids', () => {
  it('a firing names its batch <schedule>-<ISO 8601 basic time>, a valid batch id even for the longest name', () => {
    const at = new Date('2026-12-04T02:00:00.250Z');
    expect(firingBatchId('nightly', at)).toBe('nightly-20261204T020000Z');
    const longest = 'n'.repeat(SCHEDULE_NAME_MAX);
    expect(batchIdSchema.safeParse(firingBatchId(longest, at)).success).toBe(true);
  });

  it('the firing time is the one in the scheduler job id', () => {
    const job = { id: 'repeat:nightly:1796349600000', opts: {}, timestamp: 1 };
    expect(firingTimeOf(job).toISOString()).toBe('2026-12-04T02:00:00.000Z');
  });

  it('the template needs a source, an absolute file path, and no stray field', () => {
    const ok = { schedule: 'n', users: ['1'] };
    expect(scheduleTemplateSchema.safeParse(ok).success).toBe(true);
    expect(scheduleTemplateSchema.safeParse({ schedule: 'n' }).success).toBe(false);
    expect(scheduleTemplateSchema.safeParse({ schedule: 'n', usersFile: 'rel.csv' }).success).toBe(false);
    expect(scheduleTemplateSchema.safeParse({ ...ok, token: 'x' }).success).toBe(false);
    expect(scheduleTemplateSchema.safeParse({ ...ok, schedule: 'bad name' }).success).toBe(false);
    expect(scheduleTemplateSchema.safeParse({ ...ok, filters: { orgUnitIds: [''] } }).success).toBe(false);
  });
});

describe('schedule list table', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  const row = (name: string, extra: Partial<ScheduleInfo> = {}): ScheduleInfo => ({
    name,
    every: 86_400_000,
    next: '2026-12-05T02:00:00.000Z',
    last: { batchId: `${name}-20261204T020000Z`, firedAt: '2026-12-04T02:00:00.000Z', state: 'done' },
    ...extra,
  });

  it('fits 80 columns, even with the longest names and patterns', () => {
    const table = scheduleTable(
      [
        row('nightly'),
        row('x'.repeat(SCHEDULE_NAME_MAX), {
          every: undefined,
          cron: '0 2 1-7,15-21 * 1-5',
          tz: 'America/Argentina/Buenos_Aires',
        }),
        row('never-fired', { last: undefined, next: undefined }),
      ],
      now,
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+WHEN\s+NEXT RUN\s+LAST BATCH\s+STATE$/);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^nightly\s+every 1d\s+in 14h 0m\s+nightly-20261204T020000Z\s+done$/);
    // A cut batch id keeps its firing time; a cut name its start.
    expect(lines[2]).toMatch(/^x+…\s+0 2 1-7.*…\s+in 14h 0m\s+…\S*-20261204T020000Z\s+done$/);
    expect(lines[3]).toMatch(/^never-fired\s+every 1d\s+-\s+-\s+-$/);
  });
});
