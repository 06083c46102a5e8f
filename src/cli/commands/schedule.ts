/**
 * What `certharvest schedule add|list|remove` do, loaded when one runs (their options and help:
 * schedule-register.ts), and the schedules' table.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../errors/index.ts';
import {
  addSchedule,
  formatEvery,
  InvalidBatchError,
  listSchedules,
  parseEvery,
  parseUserList,
  removeSchedule,
  SCHEDULE_NAME_MAX,
  ScheduleExistsError,
  ScheduleInvalidError,
  scheduleNameSchema,
  type ScheduleInfo,
  type ScheduleTemplate,
  type ScheduleWhen,
  type UserRefKind,
} from '../../queue/index.ts';
import { openContext, type CommandContext } from '../context.ts';
import { filtersFrom } from '../filter-flags.ts';

export interface AddOptions {
  every?: string;
  cron?: string;
  tz?: string;
  name?: string;
  fromFile?: string;
  allUsers?: boolean;
  by: UserRefKind;
  skipExpired?: boolean;
  orgUnit?: string;
  issuedAfter?: string;
  issuedBefore?: string;
  replace?: boolean;
}

export async function runAdd(users: string[], opts: AddOptions): Promise<void> {
  const when = whenFrom(opts);
  const template = await templateFrom(users, opts);
  const name = opts.name ?? derivedName(users, opts);
  const ctx = await openContext();
  try {
    const info = await addSchedule({ name, when, template }, scheduleDeps(ctx), {
      replace: opts.replace === true,
    }).catch((err: unknown) => {
      if (err instanceof ScheduleExistsError)
        throw new UsageError(`${err.message}: choose another --name, or add --replace`);
      if (err instanceof ScheduleInvalidError) throw new UsageError(err.message);
      throw err;
    });
    console.log(
      `${opts.replace ? 'saved' : 'added'} schedule ${info.name}: ${describeWhen(info)}, ${describeTemplate(info.template)}`,
    );
    console.log(
      'every' in when
        ? `first batch: now (then every ${formatEvery(when.every)})`
        : `first batch: ${info.next ?? 'not planned'}`,
    );
    console.log(`its batches are ${info.name}-<UTC time>; follow them with: certharvest schedule list`);
    const consumers = await ctx.queues.schedules.getWorkersCount().catch(() => 1);
    if (consumers === 0)
      console.error(
        'warning: no worker is running yet: batches are submitted once one is (certharvest worker)',
      );
  } finally {
    await ctx.close();
  }
}

export async function runList(opts: { json?: boolean }): Promise<void> {
  const ctx = await openContext();
  try {
    const all = await listSchedules(scheduleDeps(ctx));
    if (opts.json) console.log(JSON.stringify({ schedules: all }, null, 2));
    else if (all.length === 0) console.log('no schedules (add one: certharvest schedule add --help)');
    else console.log(scheduleTable(all));
  } finally {
    await ctx.close();
  }
}

export async function runRemove(name: string): Promise<void> {
  const ctx = await openContext();
  try {
    if (!(await removeSchedule(name, scheduleDeps(ctx))))
      throw new UsageError(`no schedule "${name}" (certharvest schedule list shows them)`);
    console.log(`removed schedule ${name} (its batches stay: certharvest status)`);
  } finally {
    await ctx.close();
  }
}

const scheduleDeps = (ctx: CommandContext) => ({
  queue: ctx.queues.schedules,
  redis: ctx.redis,
  prefix: ctx.config.queuePrefix,
});

function whenFrom(opts: AddOptions): ScheduleWhen {
  if (opts.every !== undefined && opts.cron !== undefined)
    throw new UsageError('--every and --cron: pick one');
  if (opts.tz !== undefined && opts.cron === undefined)
    throw new UsageError('--tz goes with --cron (an --every period has no time zone)');
  if (opts.every !== undefined) {
    const every = parseEvery(opts.every);
    if (every === undefined)
      throw new UsageError(
        `--every: expected a duration such as 30m, 24h or 7d (a whole number and one unit: s, m, h or d; 1s to 366d), got "${opts.every}"`,
      );
    return { every };
  }
  if (opts.cron !== undefined) {
    if (opts.cron.trim() === '') throw new UsageError('--cron: expected a pattern such as "0 2 * * *"');
    return { cron: opts.cron.trim(), ...(opts.tz !== undefined ? { tz: opts.tz } : {}) };
  }
  throw new UsageError(
    'schedule add needs --every <duration> or --cron <pattern> (see certharvest schedule add --help)',
  );
}

async function templateFrom(users: string[], opts: AddOptions): Promise<Omit<ScheduleTemplate, 'schedule'>> {
  const refs = users
    .flatMap((u) => u.split(','))
    .map((u) => u.trim())
    .filter(Boolean);
  if (refs.length === 0 && opts.fromFile === undefined && !opts.allUsers)
    throw new UsageError('schedule add needs users (as arguments), --from-file or --all-users');
  let usersFile: string | undefined;
  if (opts.fromFile !== undefined) {
    if (opts.fromFile === '-' || opts.fromFile.trim() === '')
      throw new UsageError(
        '--from-file: expected the path of a file the worker can read at each firing (not stdin)',
      );
    usersFile = path.resolve(opts.fromFile);
    await checkUserFile(usersFile, opts.by);
  }
  return {
    by: opts.by,
    users: refs,
    ...(usersFile ? { usersFile } : {}),
    allUsers: opts.allUsers === true,
    ...filtersFrom(opts),
  };
}

/**
 * A file that reads but does not parse (no column for --by) is a usage error; one that cannot be
 * read here may exist where the workers run, so that is only a warning (its firings fail, saying why).
 */
async function checkUserFile(file: string, by: UserRefKind): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(
      `warning: --from-file ${file}: cannot read it here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the worker reads it at each firing`,
    );
    return;
  }
  try {
    if (parseUserList(text, by).length === 0)
      console.error(`warning: --from-file ${file}: no user references in it yet`);
  } catch (err) {
    if (err instanceof InvalidBatchError)
      throw new UsageError(`--from-file ${file}: ${err.problems.join('; ')}`);
    throw err;
  }
}

/** `all-users` for --all-users, the file's name for --from-file; a user list needs --name. */
function derivedName(users: string[], opts: AddOptions): string {
  if (users.length === 0) {
    if (opts.allUsers && opts.fromFile === undefined) return 'all-users';
    if (opts.fromFile !== undefined && !opts.allUsers) {
      const base = path
        .basename(opts.fromFile, path.extname(opts.fromFile))
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .slice(0, SCHEDULE_NAME_MAX);
      if (scheduleNameSchema.safeParse(base).success) return base;
    }
  }
  throw new UsageError(
    '--name is required here (a name is derived only for --all-users alone or --from-file alone)',
  );
}

function describeWhen(s: Pick<ScheduleInfo, 'every' | 'cron' | 'tz'>): string {
  if (s.every !== undefined) return `every ${formatEvery(s.every)}`;
  return `cron ${s.cron ?? '?'}${s.tz ? ` ${s.tz}` : ''}`;
}

function describeTemplate(t: ScheduleTemplate | undefined): string {
  if (!t) return 'template unreadable';
  const sources = [
    t.allUsers ? 'all users' : '',
    t.users.length ? `${t.users.length} user(s)` : '',
    t.usersFile ? `the users of ${t.usersFile}` : '',
  ].filter(Boolean);
  const f = t.filters;
  const filters = [
    f?.includeExpired === false ? 'expired skipped' : '',
    f?.orgUnitIds ? `org units ${f.orgUnitIds.join(',')}` : '',
    f?.issuedAfter ? `issued from ${f.issuedAfter.slice(0, 10)}` : '',
    f?.issuedBefore ? `issued before ${f.issuedBefore.slice(0, 10)}` : '',
  ].filter(Boolean);
  return `${sources.join(' + ')}${t.by !== 'userId' && !t.allUsers ? ` (by ${t.by})` : ''}${filters.length ? `; ${filters.join(', ')}` : ''}`;
}

/** `in 5h 12m`, `in 40s`, `due now` (waiting for a worker). */
function inTime(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'due now';
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `in ${d}d ${h}h`;
  if (h > 0) return `in ${h}h ${m}m`;
  if (m > 0) return `in ${m}m ${s % 60}s`;
  return `in ${s}s`;
}

interface Column {
  header: string;
  /** How a too-long cell is cut: its end (`right`) or its start (`left`); never when absent. */
  clip?: 'right' | 'left';
  /** Cut down to this width at most. */
  min?: number;
  /** Columns of rank 1 are cut first (the widest first), then rank 2. */
  rank?: number;
}

/** The schedules as a table at most 80 columns wide (long names, patterns and batch ids are cut). */
export function scheduleTable(all: readonly ScheduleInfo[], now = Date.now(), width = 80): string {
  const columns: Column[] = [
    { header: 'NAME', clip: 'right', min: 16, rank: 1 },
    { header: 'WHEN', clip: 'right', min: 10, rank: 1 },
    { header: 'NEXT RUN' },
    // The name leads the batch id and is in the row already: the firing time is what tells them apart.
    { header: 'LAST BATCH', clip: 'left', min: 18, rank: 2 },
    { header: 'STATE' },
  ];
  const rows = all.map((s) => [
    s.name,
    describeWhen(s).replace(/^cron /, ''),
    inTime(s.next, now),
    s.last?.batchId ?? '-',
    s.last?.state ?? '-',
  ]);
  return renderTable(columns, rows, width);
}

function renderTable(columns: readonly Column[], rows: readonly string[][], maxWidth: number): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]?.length ?? 0)));
  let excess = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1) - maxWidth;
  for (const rank of [1, 2]) {
    while (excess > 0) {
      let pick = -1;
      columns.forEach((c, i) => {
        const room = (widths[i] ?? 0) - (c.min ?? Infinity);
        if (c.rank === rank && room > 0 && (pick < 0 || (widths[i] ?? 0) > (widths[pick] ?? 0))) pick = i;
      });
      if (pick < 0) break;
      widths[pick] = (widths[pick] ?? 0) - 1;
      excess--;
    }
  }
  const cell = (v: string, i: number) => {
    const w = widths[i] ?? 0;
    const cut =
      v.length <= w
        ? v
        : columns[i]?.clip === 'left'
          ? `…${v.slice(v.length - w + 1)}`
          : `${v.slice(0, w - 1)}…`;
    return i === columns.length - 1 ? cut : cut.padEnd(w);
  };
  return [columns.map((c) => c.header), ...rows].map((r) => r.map(cell).join('  ').trimEnd()).join('\n');
}
