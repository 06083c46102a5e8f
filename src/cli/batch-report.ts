import { isSuccess } from '../queue/batch-state.ts';
import type { BatchStatus } from '../queue/index.ts';
import { formatDuration, formatRate } from './progress-rate.ts';

/** The pace of a batch as a watcher measures it (see `watchBatch`), shown next to its counts. */
export interface ProgressFigures {
  /** Certificates per second, smoothed; null while unknown. */
  rate: number | null;
  /** Seconds until the batch is done at that rate; null while unknown. */
  etaSeconds: number | null;
  /** The fleet is paused: shown in place of the ETA. */
  paused?: boolean;
}

/** A batch's certificates: done so far, and how many there will be in all (an estimate while users are still being discovered). */
export interface CertProgress {
  /** Stored, already stored or failed. */
  done: number;
  failed: number;
  /** Found so far. */
  found: number;
  /** Every user is discovered: `found` is the total. */
  complete: boolean;
  /**
   * The expected total: `found` once complete; before, `found` scaled by the users still to be
   * discovered (certificates per discovered user so far); null while there is no basis (no user
   * discovered yet, or the user list itself is still being enumerated).
   */
  expected: number | null;
}

export function certProgress(s: BatchStatus): CertProgress {
  const done = s.certsStored + s.certsAlreadyStored + s.certsFailed;
  const usersSettled = s.usersDone + s.usersFailed;
  const complete = !s.enumerating && usersSettled >= s.usersTotal;
  let expected: number | null = null;
  if (complete) expected = s.certsFound;
  else if (!s.enumerating && usersSettled > 0) {
    expected = Math.max(s.certsFound, Math.round((s.certsFound / usersSettled) * s.usersTotal));
  }
  return { done, failed: s.certsFailed, found: s.certsFound, complete, expected };
}

/** Seconds left for a batch at `rate` certificates/s; null when unknown. */
export function batchEtaSeconds(s: BatchStatus, rate: number | null): number | null {
  if (s.done) return 0;
  const c = certProgress(s);
  if (c.expected === null || rate === null || !(rate > 0)) return null;
  // Nothing left to download but users still to discover: the end is not in sight from the rate.
  if (c.expected - c.done <= 0) return c.complete ? 0 : null;
  return (c.expected - c.done) / rate;
}

const paceText = (f: ProgressFigures): string =>
  ` · ${formatRate(f.rate)} certificates/s · ${f.paused ? 'paused' : `ETA ${formatDuration(f.etaSeconds)}`}`;

/** One progress line: plain text, for logs and non-TTY output; with the pace when it is known. */
export function progressLine(s: BatchStatus, figures?: ProgressFigures): string {
  // Failed users are always shown: a batch whose users failed must never read as "failed 0".
  const usersSettled = s.usersDone + s.usersFailed + s.usersCancelled;
  const certsDone = s.certsStored + s.certsAlreadyStored + s.certsFailed + s.certsCancelled;
  return (
    `batch ${s.batchId}: users ${usersSettled}/${s.usersTotal}${s.enumerating ? '+' : ''}` +
    ` (failed ${s.usersFailed}${s.usersCancelled ? `, cancelled ${s.usersCancelled}` : ''})` +
    ` · certificates ${certsDone}/${s.certsFound} (stored ${s.certsStored}, already stored ${s.certsAlreadyStored}, failed ${s.certsFailed}` +
    `${s.certsCancelled ? `, cancelled ${s.certsCancelled}` : ''})` +
    (figures ? paceText(figures) : '')
  );
}

/** A piece of the bar's text: `long` when there is room, else `short`; the lowest `keep` goes first. */
interface Cell {
  long: string;
  short: string;
  /** 0 is kept longest. */
  keep: number;
}

const MIN_BAR = 6;
const MAX_BAR = 40;

/** Width in terminal columns of our own text (ASCII plus "—", one column each). */
const width = (text: string): number => [...text].length;

/**
 * A one-line bar for a TTY, redrawn in place. It never wraps (a wrapped line cannot be redrawn
 * and stacks up): it is at most `columns - 1` wide (the last column is left free, so no terminal
 * wraps early). Where room is short the users go, then the labels, then the least useful figures
 * (percent, rate, ETA, failed — in that order), then the bar itself; the certificate count stays.
 */
export function progressBar(s: BatchStatus, columns = 80, figures?: ProgressFigures): string {
  const room = Math.max(1, Math.floor(columns) - 1);
  const c = certProgress(s);
  const ratio = s.done ? 1 : c.expected ? Math.min(1, c.done / c.expected) : 0;
  const more = c.complete ? '' : '+';
  const users = `${s.usersDone + s.usersFailed}/${s.usersTotal}${s.enumerating ? '+' : ''}`;
  // With room, figures are padded to their usual widths, so the layout holds still as they change.
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const cells: Cell[] = [
    { long: pct, short: pct, keep: 4 },
    { long: `certs ${c.done}/${c.found}${more}`, short: `${c.done}/${c.found}${more}`, keep: 0 },
    { long: `${c.failed} failed`, short: `${c.failed} failed`, keep: 1 },
  ];
  if (figures) {
    const rate = formatRate(figures.rate);
    cells.push({ long: `${rate.padStart(4)} certs/s`, short: `${rate}/s`, keep: 3 });
    const eta = figures.paused ? 'PAUSED' : `ETA ${formatDuration(figures.etaSeconds)}`;
    cells.push({ long: eta.padEnd(11), short: eta, keep: 2 });
  }
  cells.push({ long: `users ${users}`, short: `u ${users}`, keep: 5 });

  // The bar is a quarter of the line (so it does not jump as the figures grow); it gives up room
  // down to MIN_BAR before the text loses anything more.
  const preferred = Math.max(MIN_BAR, Math.min(MAX_BAR, Math.floor(room / 4)));
  const bar = (text: string, w: number): string => {
    const filled = Math.floor(ratio * w);
    return `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}] ${text}`.trimEnd();
  };
  // Layouts from the richest to the barest: every cell with its label, then without users; then
  // every cell terse, and without the least useful cell, and so on down to the certificates alone.
  const ranks = cells.map((cell) => cell.keep).sort((a, b) => a - b);
  const layout = (n: number, form: 'long' | 'short') =>
    cells
      .filter((cell) => cell.keep <= ranks[n - 1]!)
      .map((cell) => cell[form])
      .join(form === 'long' ? '  ' : ' ');
  const texts = [layout(ranks.length, 'long'), layout(ranks.length - 1, 'long')];
  for (let n = ranks.length; n >= 1; n--) texts.push(layout(n, 'short'));
  for (const text of texts) if (width(text) + 3 + preferred <= room) return bar(text, preferred);
  for (const text of texts) {
    const w = Math.min(preferred, room - width(text) - 3);
    if (w >= MIN_BAR) return bar(text, w);
  }
  for (const text of texts) if (width(text) <= room) return text.trim();
  return [...texts.at(-1)!.trim()].slice(0, room).join('');
}

/** The closing summary of a batch: its state first, then the counts, the links and the failures. */
export function summary(s: BatchStatus): string {
  const cancelled = (n: number) => (n ? `, ${n} cancelled` : '');
  const lines = [
    `Batch ${s.batchId}: ${s.state}`,
    `  users:                ${s.usersTotal} (${s.usersDone} done, ${s.usersFailed} failed${cancelled(s.usersCancelled)})`,
    `  certificates found:   ${s.certsFound}${s.badgesIgnored ? ` (badges ignored: ${s.badgesIgnored})` : ''}`,
    `  stored:               ${s.certsStored}`,
    `  already stored:       ${s.certsAlreadyStored}`,
    `  failed:               ${s.certsFailed}`,
  ];
  if (s.certsCancelled) lines.push(`  not downloaded:       ${s.certsCancelled} (cancelled)`);
  if (s.refresh) lines.push('  refresh:              yes (stored certificates fetched again)');
  if (s.cancelledAt) lines.push(`  cancelled at:         ${s.cancelledAt}`);
  if (s.retryOf) lines.push(`  retry of:             ${s.retryOf}`);
  if (s.retriedBy) lines.push(`  retried by:           ${s.retriedBy}`);
  if (s.failures.length > 0) {
    lines.push('  failures:');
    for (const f of s.failures) lines.push(`    - ${f.kind} ${f.ref}: [${f.code}] ${f.reason}`);
  }
  // A reference refused as malformed would be refused again: `retry` leaves those out.
  const retriable = s.certsFailed > 0 || s.failures.some((f) => f.code !== 'USER_REF_MALFORMED');
  if (s.state === 'done-with-failures' && !s.retriedBy && retriable)
    lines.push(`  retry the failures:   certharvest retry ${s.batchId}`);
  return lines.join('\n');
}

/** Every certificate asked for is on disk: the state says so (`batchState` decides it, not this). */
export const batchSucceeded = (s: Pick<BatchStatus, 'state'>): boolean => isSuccess(s.state);
