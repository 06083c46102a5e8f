/** `status --certificates` output: the table fits 80 columns; writes wait for a slow reader. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  StreamWriter,
  tableHeader,
  tableLayout,
  tableLine,
  writeManifest,
} from '../../src/cli/manifest-output.ts';
import type { ManifestRow } from '../../src/report/manifest.ts';

function row(over: Partial<ManifestRow> = {}): ManifestRow {
  return {
    kind: 'certificate',
    userRef: 'userId:1001',
    userId: 1001,
    userName: null,
    orgUnitId: 7,
    orgUnitName: null,
    issuedId: 12,
    title: 'Safety',
    issuedDate: null,
    status: 'stored',
    code: null,
    reason: null,
    path: '1001/7-12.pdf',
    sha256: null,
    bytes: null,
    source: null,
    ...over,
  };
}

const cols = (line: string) => [...line].length;

describe('the certificates table', () => {
  const rows = [
    row(),
    row({ status: 'failed', path: null, code: 'CERTIFICATE_HTTP', reason: 'HTTP 403 '.repeat(20) }),
    row({
      kind: 'user',
      userRef: `userName:${'x'.repeat(100)}`,
      status: 'failed',
      code: 'LMS_USER_NOT_FOUND',
      reason: 'no such user',
      path: null,
    }),
    row({ status: 'queued', path: null }),
  ];

  it('fits 80 columns whatever the lengths, with the path or the code and reason', () => {
    const layout = tableLayout(rows, 200);
    const lines = [tableHeader(layout), ...rows.map((r) => tableLine(r, layout))];
    for (const line of lines) expect(cols(line), line).toBeLessThan(80);
    expect(lines[1]).toMatch(/^userId:1001 +stored +1001\/7-12\.pdf$/);
    expect(lines[2]).toMatch(/ failed +7-12 \[CERTIFICATE_HTTP\] HTTP 403 .*…$/);
    expect(lines[3]).toMatch(/^userName:x+… +failed +\[LMS_USER_NOT_FOUND\] no such user$/);
    expect(lines[4]).toMatch(/ queued +7-12 Safety$/);
  });

  it('fits a narrower terminal, down to 40 columns', () => {
    const layout = tableLayout(rows, 50);
    for (const r of rows) expect(cols(tableLine(r, layout))).toBeLessThan(50);
  });
});

describe('StreamWriter', () => {
  it('waits for a slow reader to drain instead of buffering everything', async () => {
    let peak = 0;
    const slow = new Writable({
      highWaterMark: 64,
      write(_chunk, _enc, cb) {
        setTimeout(cb, 1);
      },
    });
    const out = new StreamWriter(slow);
    for (let i = 0; i < 50; i++) {
      await out.write('x'.repeat(100));
      peak = Math.max(peak, slow.writableLength);
    }
    // Never more than one chunk waits beyond the mark.
    expect(peak).toBeLessThanOrEqual(100);
    out.release();
  });

  it('stops quietly when the reader went away (EPIPE)', async () => {
    const gone = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const out = new StreamWriter(gone);
    await out.write('a');
    await out.write('b');
    expect(out.closed).toBe(true);
  });

  it('writes a manifest as JSON page by page: one document, rows as of the first read', async () => {
    const all = Array.from({ length: 5 }, (_, i) => row({ issuedId: i }));
    let total = 5;
    const tracker = {
      // Rows keep arriving while it reads: the listing stops at the total it first saw.
      manifest: async (_id: string, offset: number, limit: number) => {
        const page = { total, rows: all.slice(offset, offset + limit) };
        all.push(row({ issuedId: 100 + all.length }));
        total++;
        return page;
      },
    };
    let text = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    const out = new StreamWriter(sink);
    expect(await writeManifest(tracker, 'b', 'json', out, { pageSize: 2 })).toBe(true);
    const doc = JSON.parse(text) as { schemaVersion: number; total: number; rows: ManifestRow[] };
    expect(doc.total).toBe(5);
    expect(doc.rows.map((r) => r.issuedId)).toEqual([0, 1, 2, 3, 4]);
    expect(doc.schemaVersion).toBe(1);
  });
});
