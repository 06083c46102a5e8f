/**
 * `certharvest schedule`: bad input is a usage error (exit 2) naming the problem; nothing is
 * scheduled. The cases run through `main()` in process; the real binary is spawned once each for
 * `add` and `remove` to see the exit code cross the process boundary.
 */
import { Queue } from 'bullmq';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULES_QUEUE } from '../../src/queue/index.ts';
import { runCli, tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { cliInProcess } from './in-process-cli.ts';

const env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('sched-cli'), LOG_LEVEL: 'warn' };
const cli = (...args: string[]) => cliInProcess(['schedule', ...args], env);

let queue: Queue;
let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  queue = new Queue(SCHEDULES_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX });
  dir = await tempDir('sched-cli');
});
afterAll(async () => {
  await queue?.close();
  await dir?.cleanup();
});

describe('schedule: bad input exits 2 naming the problem', () => {
  it('add: the timing, the name, the users, the filters', async () => {
    const wrongColumn = path.join(dir.dir, 'wrong-column.csv');
    await writeFile(wrongColumn, 'userName,email\nalice,a@example.edu\n');
    const cases: [string[], RegExp][] = [
      [['add', '--all-users', '--every', '5x'], /--every: .*"5x"/],
      [['add', '--all-users', '--every', '0h'], /--every: .*"0h"/],
      [['add', '--all-users', '--every', '24h', '--cron', '0 2 * * *'], /--every and --cron: pick one/],
      [['add', '--all-users'], /needs --every <duration> or --cron <pattern>/],
      [['add', '--all-users', '--every', '24h', '--tz', 'Europe/Paris'], /--tz goes with --cron/],
      [['add', '--all-users', '--cron', '61 * * * *'], /cron pattern "61 \* \* \* \*"/],
      [['add', '--all-users', '--cron', '0 2 * *'], /expected 5 fields/],
      [['add', '--all-users', '--cron', '0 2 * * *', '--tz', 'Mars/Base'], /time zone "Mars\/Base"/],
      [['add', '--every', '24h'], /needs users \(as arguments\), --from-file or --all-users/],
      [['add', '--every', '24h', '1001', '1002'], /--name is required/],
      [['add', '--every', '24h', '--name', 'bad name!', '1001'], /name "bad name!"/],
      [['add', '--every', '24h', '--name', 'x'.repeat(48), '1001'], /1-47 letters/],
      [['add', '--every', '24h', '--from-file', '-'], /--from-file: .*not stdin/],
      [
        ['add', '--every', '24h', '--from-file', wrongColumn],
        /--from-file .*wrong-column\.csv: .*no "userId" column/,
      ],
      [['add', '--all-users', '--every', '24h', '--org-unit', '6606,,6610'], /--org-unit/],
      [['add', '--all-users', '--every', '24h', '--issued-after', 'last week'], /--issued-after/],
      [['add', '--all-users', '--every', '24h', '--by', 'email'], /--by/],
    ];
    for (const [args, problem] of cases) {
      const run = await cli(...args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(problem);
    }
    expect(await queue.getJobSchedulersCount()).toBe(0);
  });

  it('the real binary exits 2 too', async () => {
    const add = await runCli(['schedule', 'add', '--all-users', '--every', '5x'], env);
    expect(add.code).toBe(2);
    expect(add.stderr).toMatch(/--every: .*"5x"/);
    const remove = await runCli(['schedule', 'remove', 'nope'], env);
    expect(remove.code).toBe(2);
    expect(remove.stderr).toContain('no schedule "nope"');
  });

  it('remove: an unknown name, named', async () => {
    const run = await cli('remove', 'no-such-schedule');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no schedule "no-such-schedule"');
  });

  it('add: a name already taken, unless --replace', async () => {
    // A cron pattern far ahead: nothing fires (no worker runs here anyway).
    const add = (...extra: string[]) =>
      cli('add', '--name', 'taken', '--cron', '0 0 1 1 *', ...extra, '1001');
    const first = await add();
    expect(first.code, first.stderr).toBe(0);
    const again = await add();
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/schedule "taken" already exists.*--replace/);
    const replaced = await add('--replace', '--tz', 'Europe/Paris');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(await queue.getJobScheduler('taken')).toMatchObject({ pattern: '0 0 1 1 *', tz: 'Europe/Paris' });
    expect((await cli('remove', 'taken')).code).toBe(0);
    expect(await queue.getJobSchedulersCount()).toBe(0);
  });
});
