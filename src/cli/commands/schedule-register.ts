/**
 * `certharvest schedule`: its subcommands, options and help. What they do is in schedule.ts (with
 * the table its tests read), loaded when one runs: it sits beside BullMQ's job schedulers.
 */
import { Command, Option } from 'commander';
import { USER_REF_KINDS } from '../../queue/job-data.ts';
import type { AddOptions } from './schedule.ts';

/**
 * SCHEDULE_NAME_MAX of src/queue/schedules.ts, for the help: that module loads BullMQ, which the
 * help must not wait for.
 */
const SCHEDULE_NAME_MAX = 47;

export function registerScheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('recurring batches: a batch of the same users every period or on a cron pattern');
  registerAdd(schedule);
  registerList(schedule);
  registerRemove(schedule);
}

/** `schedule add`. */
function registerAdd(schedule: Command): void {
  schedule
    .command('add')
    .description(
      'add a schedule: each firing submits a batch <name>-<UTC time> (one per firing for the fleet)',
    )
    .argument('[users...]', 'user references, as for submit --users')
    .option('--every <duration>', 'fire now, then every period: 30m, 24h, 7d (s, m, h or d; from 1s)')
    .option(
      '--cron <pattern>',
      'fire on a cron pattern, e.g. "0 2 * * *" (5 fields, or 6 with seconds first)',
    )
    .option('--tz <zone>', 'with --cron: the IANA time zone of the pattern (default UTC), e.g. Europe/Paris')
    .option(
      '--name <name>',
      `the schedule's name (1-${SCHEDULE_NAME_MAX} letters, digits, ".", "_", "-"); default: "all-users" or the file's name`,
    )
    .option('--from-file <path>', 'a user file as for submit --file, read again at each firing')
    .option('--all-users', 'every user of the institution (enumerated through the LMS at each firing)')
    .addOption(new Option('--by <kind>', 'what the references are').choices(USER_REF_KINDS).default('userId'))
    .option('--skip-expired', 'leave out expired certificates')
    .option('--org-unit <ids>', 'keep only certificates of these org units (comma-separated ids)')
    .option('--issued-after <date>', 'keep only certificates issued at or after this date')
    .option('--issued-before <date>', 'keep only certificates issued before this date')
    .option('--replace', 'replace the schedule of that name if there is one')
    .addHelpText(
      'after',
      `
Examples:
  certharvest schedule add --all-users --every 24h
  certharvest schedule add --name weekdays --cron "0 2 * * 1-5" --tz Europe/Paris \\
      --from-file /data/students.csv --by orgDefinedId
  certharvest schedule add --name staff --every 7d --skip-expired 1001 1002 1003

With --every the first batch is submitted at once (a worker takes it), then one
every period; use --cron for fixed times. One batch per firing however many
workers run. The file is read by the worker at each firing: a missing or
malformed file makes that firing's batch fail with the reason (see
certharvest schedule list and certharvest status).

Exit codes: 0 added, 2 usage error (the option and what is expected are named).`,
    )
    .action(async (users: string[], opts: AddOptions) => {
      const { runAdd } = await import('./schedule.ts');
      await runAdd(users, opts);
    });
}

/** `schedule list`. */
function registerList(schedule: Command): void {
  schedule
    .command('list')
    .description('the schedules: when they fire, the next firing, the last batch and its state')
    .option('--json', 'print JSON instead of a table (every field, the templates too)')
    .addHelpText(
      'after',
      `
Examples:
  certharvest schedule list
  certharvest schedule list --json | jq '.schedules[].last'

STATE is the last batch's: running, done (every certificate stored), failed
(some failed: certharvest status <batch>), error (the firing could not submit
it, e.g. its user file was missing), expired (older than 30 days).`,
    )
    .action(async (opts: { json?: boolean }) => {
      const { runList } = await import('./schedule.ts');
      await runList(opts);
    });
}

/** `schedule remove`. */
function registerRemove(schedule: Command): void {
  schedule
    .command('remove')
    .argument('<name>', 'the schedule to remove')
    .description('remove a schedule (its batches stay)')
    .addHelpText(
      'after',
      `
Examples:
  certharvest schedule remove nightly

Exit codes: 0 removed, 2 no such schedule.`,
    )
    .action(async (name: string) => {
      const { runRemove } = await import('./schedule.ts');
      await runRemove(name);
    });
}
