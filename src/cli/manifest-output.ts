/**
 * `status <id> --certificates`: every row of a batch's manifest as a table, CSV or JSON, written
 * page by page as Redis gives them (a batch of 100,000 certificates is never one string).
 */
import { SCHEMA_VERSION } from '../certificate/index.ts';
import type { BatchTracker } from '../queue/index.ts';
import { manifestCsvHeader, manifestCsvRows, type ManifestRow } from '../report/manifest.ts';

export type ManifestFormat = 'text' | 'csv' | 'json';

/** Rows per Redis read (and per write). */
const PAGE_SIZE = 1000;

/**
 * Writes to a stream, waiting for `drain` when its buffer is full. A reader that went away (a
 * pipe into `head`) ends the writing quietly: `closed` turns true and later writes do nothing.
 */
export class StreamWriter {
  #failure: Error | null = null;
  closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.#onError);
  }

  #onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') this.closed = true;
    else this.#failure = err;
  };

  async write(text: string): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.closed || text === '') return;
    if (this.stream.write(text)) return;
    // Until the buffer drains, or the stream ends or fails (then `closed` or the failure says so).
    await new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ['drain', 'close', 'error']) this.stream.off(event, done);
        resolve();
      };
      for (const event of ['drain', 'close', 'error']) this.stream.on(event, done);
    });
    if (this.#failure) throw this.#failure;
  }

  /** Stop listening for errors on the stream. */
  release(): void {
    this.stream.off('error', this.#onError);
  }
}

/**
 * The rows of a batch's manifest as they are when reading starts: `total` is read with the first
 * page, and later pages stop there (rows only ever arrive at the end), so a listing of a running
 * batch is consistent with its own `total`. Null for an unknown batch.
 */
export async function manifestSnapshot(
  tracker: Pick<BatchTracker, 'manifest'>,
  batchId: string,
  pageSize = PAGE_SIZE,
): Promise<{ total: number; pages: AsyncGenerator<ManifestRow[]> } | null> {
  const first = await tracker.manifest(batchId, 0, pageSize);
  if (!first) return null;
  const total = first.total;
  async function* pages(): AsyncGenerator<ManifestRow[]> {
    if (first!.rows.length > 0) yield first!.rows.slice(0, total);
    for (let offset = pageSize; offset < total; offset += pageSize) {
      const page = await tracker.manifest(batchId, offset, Math.min(pageSize, total - offset));
      if (!page || page.rows.length === 0) return;
      yield page.rows;
    }
  }
  return { total, pages: pages() };
}

/** Write a batch's manifest to `out` in `format`; false for an unknown batch. */
export async function writeManifest(
  tracker: Pick<BatchTracker, 'manifest'>,
  batchId: string,
  format: ManifestFormat,
  out: StreamWriter,
  options: { columns?: number; pageSize?: number } = {},
): Promise<boolean> {
  const snapshot = await manifestSnapshot(tracker, batchId, options.pageSize);
  if (!snapshot) return false;
  const { total, pages } = snapshot;
  if (format === 'csv') {
    await out.write(manifestCsvHeader());
    for await (const rows of pages) {
      if (out.closed) break;
      await out.write(manifestCsvRows(rows));
    }
  } else if (format === 'json') {
    await out.write(
      `{"schemaVersion":${SCHEMA_VERSION},"batchId":${JSON.stringify(batchId)},"total":${total},"rows":[`,
    );
    // One row a line, so the document reads (and diffs) well and is still one JSON value.
    let any = false;
    for await (const rows of pages) {
      if (out.closed) break;
      let chunk = '';
      for (const r of rows) {
        chunk += `${any ? ',' : ''}\n${JSON.stringify(r)}`;
        any = true;
      }
      await out.write(chunk);
    }
    await out.write(any ? '\n]}\n' : ']}\n');
  } else {
    const counts = new Map<string, number>();
    let layout: TableLayout | null = null;
    for await (const rows of pages) {
      if (out.closed) break;
      if (!layout) {
        layout = tableLayout(rows, options.columns ?? 80);
        await out.write(`${tableHeader(layout)}\n`);
      }
      for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      await out.write(rows.map((r) => `${tableLine(r, layout!)}\n`).join(''));
    }
    const tally = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
    await out.write(
      total === 0 ? 'no certificates yet\n' : `${total} row(s): ${tally} (every column: --csv or --json)\n`,
    );
  }
  return true;
}

/** Column widths of the human table: user, status, then the rest of the line. */
export interface TableLayout {
  user: number;
  status: number;
  rest: number;
}

const GAP = 2;
/** `already-stored`, the longest status. */
const STATUS_WIDTH = 14;

/** Widths that fit `columns` (at most 80 wide), the user column sized to the first page's refs. */
export function tableLayout(rows: readonly ManifestRow[], columns = 80): TableLayout {
  const room = Math.max(40, Math.min(80, Math.floor(columns))) - 1;
  const longest = Math.max(4, ...rows.map((r) => width(userOf(r))));
  const user = Math.min(longest, Math.floor(room * 0.35));
  return { user, status: STATUS_WIDTH, rest: room - user - STATUS_WIDTH - 2 * GAP };
}

export function tableHeader(l: TableLayout): string {
  return [pad('USER', l.user), pad('STATUS', l.status), 'PATH (OR WHY IT FAILED)'].join(' '.repeat(GAP));
}

/** One row: the user, the status, and the path — or the code and reason of a failure. */
export function tableLine(r: ManifestRow, l: TableLayout): string {
  const ids = r.kind === 'certificate' && r.orgUnitId !== null ? `${r.orgUnitId}-${r.issuedId ?? '?'} ` : '';
  const rest =
    r.status === 'failed'
      ? `${ids}[${r.code ?? '?'}] ${r.reason ?? ''}`
      : (r.path ?? (r.kind === 'certificate' ? `${ids}${r.title ?? ''}`.trim() : ''));
  return [fit(userOf(r), l.user), pad(r.status, l.status), cut(rest, l.rest)].join(' '.repeat(GAP)).trimEnd();
}

const userOf = (r: ManifestRow): string =>
  r.userRef ?? (r.userName ? `userName:${r.userName}` : r.userId !== null ? `userId:${r.userId}` : '?');

/** Width in terminal columns (one a code point: CJK double width is not worth a dependency here). */
const width = (text: string): number => [...text].length;

const pad = (text: string, w: number): string => text + ' '.repeat(Math.max(0, w - width(text)));

/** Cut to `w` columns, ending with "…" when cut. */
function cut(text: string, w: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  const chars = [...oneLine];
  return chars.length <= w ? oneLine : `${chars.slice(0, Math.max(0, w - 1)).join('')}…`;
}

const fit = (text: string, w: number): string => pad(cut(text, w), w);
