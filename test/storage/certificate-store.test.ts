import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateStore, certificatePaths, sha256Hex, UnsafeIdError } from '../../src/storage/index.ts';
import { tempDir } from '../helpers/index.ts';

const facts = {
  userId: 101,
  orgUnitId: 6606,
  issuedId: 42,
  awardId: 7,
  title: 'Safety Training',
  issuedDate: '2026-05-13T20:01:00.827Z',
  source: 'browser' as const,
  lmsHost: 'school.example',
};
const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('certificatePaths', () => {
  it('builds OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf', () => {
    const p = certificatePaths('/out', { userId: 101, orgUnitId: '6606', issuedId: 42 });
    expect(p.pdf).toBe('/out/101/6606-42.pdf');
    expect(p.sidecar).toBe('/out/101/6606-42.json');
  });

  it.each([['../etc'], ['1/2'], ['-1'], ['0'], ['1e3'], [''], ['12 '], [1.5], [null], ['١٢']])(
    'rejects the hostile id %j before it becomes a path',
    (bad) => {
      expect(() => certificatePaths('/out', { userId: 1, orgUnitId: bad as string, issuedId: 2 })).toThrow(
        UnsafeIdError,
      );
    },
  );
});

describe('CertificateStore', () => {
  it('writes the PDF and a sidecar with the documented fields', async () => {
    const store = new CertificateStore(dir);
    const result = await store.save(facts, pdf, new Date('2026-11-23T10:00:00Z'));
    expect(result.status).toBe('stored');
    expect(await readFile(path.join(dir, '101', '6606-42.pdf'))).toEqual(pdf);
    const meta = JSON.parse(await readFile(path.join(dir, '101', '6606-42.json'), 'utf8'));
    expect(meta).toMatchObject({
      userId: 101,
      orgUnitId: 6606,
      issuedId: 42,
      awardId: 7,
      title: 'Safety Training',
      issuedDate: '2026-05-13T20:01:00.827Z',
      sha256: sha256Hex(pdf),
      bytes: pdf.length,
      source: 'browser',
      downloadedAt: '2026-11-23T10:00:00.000Z',
    });
    // No temp files are left behind.
    expect(await readdir(path.join(dir, '101'))).toEqual(['6606-42.json', '6606-42.pdf']);
  });

  it('skips a certificate already stored with the same bytes', async () => {
    const store = new CertificateStore(dir);
    await store.save(facts, pdf);
    const before = await stat(path.join(dir, '101', '6606-42.pdf'));
    const again = await store.save(facts, pdf);
    expect(again.status).toBe('unchanged');
    expect((await stat(path.join(dir, '101', '6606-42.pdf'))).mtimeMs).toBe(before.mtimeMs);
    expect(await store.existing(facts)).toMatchObject({ sha256: sha256Hex(pdf) });
  });

  it('does not trust a sidecar whose PDF was damaged', async () => {
    const store = new CertificateStore(dir);
    await store.save(facts, pdf);
    await writeFile(path.join(dir, '101', '6606-42.pdf'), pdf.subarray(0, 10));
    expect(await store.existing(facts)).toBeNull();
    expect((await store.save(facts, pdf)).status).toBe('stored');
    expect(await readFile(path.join(dir, '101', '6606-42.pdf'))).toEqual(pdf);
  });
});
