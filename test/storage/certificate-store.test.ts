import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import {
  CertificateStore,
  certificatePaths,
  OutputUnavailableError,
  sha256Hex,
  SPILL_BYTES,
  UnsafeIdError,
} from '../../src/storage/index.ts';
import { tempFileName } from '../../src/storage/atomic-write.ts';
import { partialFiles, tempDir } from '../helpers/index.ts';

const cert: Certificate = {
  userId: 101,
  orgUnitId: 6606,
  issuedId: 42,
  awardId: 7,
  title: 'Safety Training',
  issuedDate: '2026-05-13T20:01:00.827Z',
};
const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
const otherPdf = Buffer.from('%PDF-1.7\n% a different rendering\ntrailer\n<<>>\n%%EOF\n');
const lmsHost = 'school.example';

let dir: string;
let cleanup: () => Promise<void>;
let store: CertificateStore;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = new CertificateStore(dir, { lmsHost });
});
afterEach(() => cleanup());

const userDir = () => path.join(dir, '101');
const pdfPath = () => path.join(dir, '101', '6606-42.pdf');
const sidecarPath = () => path.join(dir, '101', '6606-42.json');
const partials = () => partialFiles(dir);

describe('certificatePaths', () => {
  it('builds OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf', () => {
    const p = certificatePaths('/out', { userId: 101, orgUnitId: 6606, issuedId: 42 });
    expect(p.pdf).toBe('/out/101/6606-42.pdf');
    expect(p.sidecar).toBe('/out/101/6606-42.json');
  });

  it.each([[''], [0], [1.5], [null], [-3], [2 ** 60], ['a\u0000b'], ['A'.repeat(70)], [{}]])(
    'rejects the id %j before it becomes a path',
    (bad) => {
      const ids = { userId: 1, orgUnitId: bad as unknown as number, issuedId: 2 };
      expect(() => certificatePaths('/out', ids)).toThrow(UnsafeIdError);
    },
  );

  it.each([['../etc'], ['1/2'], ['-1'], ['0'], ['1e3'], ['12 '], ['١٢'], ['..']])(
    'writes the hostile string id %j as a safe name inside OUTPUT_DIR',
    (hostile) => {
      const p = certificatePaths('/out', { userId: hostile, orgUnitId: hostile, issuedId: 2 });
      expect(path.dirname(p.dir)).toBe('/out');
      expect(path.basename(p.dir)).toMatch(/^(?:[a-z0-9_.]|~[0-9A-F]{2})+$/);
      expect(p.pdf).toBe(path.join(p.dir, `${path.basename(p.dir)}-2.pdf`));
    },
  );
});

describe('CertificateStore.save', () => {
  it('writes the PDF and a StoredCertificate sidecar, and nothing else beside them', async () => {
    const withExtraField = { ...cert, notForTheSidecar: true };
    const result = await store.save(
      withExtraField,
      pdf,
      'browser',
      { userRef: 'userName:jdoe' },
      new Date('2026-11-23T10:00:00Z'),
    );

    expect(result).toEqual({
      status: 'stored',
      source: 'browser',
      path: pdfPath(),
      sha256: sha256Hex(pdf),
      bytes: pdf.length,
    });
    expect(await readFile(pdfPath())).toEqual(pdf);
    const text = await readFile(sidecarPath(), 'utf8');
    expect(JSON.parse(text)).toEqual({
      schemaVersion: 1,
      ...cert,
      sha256: sha256Hex(pdf),
      bytes: pdf.length,
      source: 'browser',
      downloadedAt: '2026-11-23T10:00:00.000Z',
      lmsHost,
      userRef: 'userName:jdoe',
    });
    expect(text).toMatch(/^\{\n {2}"schemaVersion": 1,\n {2}"userId": 101,\n[\s\S]*\n\}\n$/);
    expect((await readdir(userDir())).sort()).toEqual(['6606-42.json', '6606-42.pdf']);
    expect(await partials()).toEqual([]);
  });

  it('is then found by existing()', async () => {
    expect(await store.existing(cert)).toBeNull();
    await store.save(cert, pdf, 'api');
    expect(await store.existing(cert)).toEqual({
      path: pdfPath(),
      sha256: sha256Hex(pdf),
      bytes: pdf.length,
    });
  });

  it('does not rewrite the same bytes: already-stored, files untouched', async () => {
    await store.save(cert, pdf, 'api');
    const [pdfBefore, sidecarBefore] = await Promise.all([stat(pdfPath()), stat(sidecarPath())]);

    const again = await store.save(cert, pdf, 'browser');

    expect(again).toEqual({
      status: 'already-stored',
      path: pdfPath(),
      sha256: sha256Hex(pdf),
      bytes: pdf.length,
    });
    expect((await stat(pdfPath())).mtimeMs).toBe(pdfBefore.mtimeMs);
    expect((await stat(sidecarPath())).mtimeMs).toBe(sidecarBefore.mtimeMs);
    expect(JSON.parse(await readFile(sidecarPath(), 'utf8')).source).toBe('api');
  });

  it('overwrites different bytes', async () => {
    await store.save(cert, pdf, 'api');
    const result = await store.save(cert, otherPdf, 'browser');
    expect(result).toMatchObject({ status: 'stored', sha256: sha256Hex(otherPdf), bytes: otherPdf.length });
    expect(await readFile(pdfPath())).toEqual(otherPdf);
    expect(await store.existing(cert)).toMatchObject({ sha256: sha256Hex(otherPdf) });
    expect((await readdir(userDir())).sort()).toEqual(['6606-42.json', '6606-42.pdf']);
  });

  it('is not blocked by a stale temp file, and makes removed folders again', async () => {
    await mkdir(path.join(dir, '.partial'));
    await writeFile(path.join(dir, '.partial', tempFileName()), 'junk');
    await store.save(cert, pdf, 'api');

    await rm(userDir(), { recursive: true });
    await rm(path.join(dir, '.partial'), { recursive: true });
    expect((await store.save(cert, pdf, 'api')).status).toBe('stored');
    expect(await readFile(pdfPath())).toEqual(pdf);
  });

  it('says OUTPUT_UNWRITABLE when a folder sits where the PDF goes, and leaves no temp file', async () => {
    await mkdir(pdfPath(), { recursive: true });
    const error = await store.save(cert, pdf, 'api').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputUnavailableError);
    expect(error).toMatchObject({ code: 'OUTPUT_UNWRITABLE', retryable: false });
    expect(await partials()).toEqual([]);
  });

  it('lets other errors through unchanged', async () => {
    const hostile = { ...cert, userId: '' };
    await expect(store.save(hostile, pdf, 'api')).rejects.toBeInstanceOf(UnsafeIdError);
  });
});

describe('CertificateStore.existing', () => {
  it('is null for a sidecar written for another LMS host', async () => {
    await new CertificateStore(dir, { lmsHost: 'other.example' }).save(cert, pdf, 'api');
    expect(await store.existing(cert)).toBeNull();
    expect((await store.save(cert, pdf, 'api')).status).toBe('stored');
    expect(JSON.parse(await readFile(sidecarPath(), 'utf8')).lmsHost).toBe(lmsHost);
  });

  it('is null when the PDF size differs from the sidecar', async () => {
    await store.save(cert, pdf, 'api');
    await writeFile(pdfPath(), pdf.subarray(0, 10));
    expect(await store.existing(cert)).toBeNull();
    expect((await store.save(cert, pdf, 'api')).status).toBe('stored');
    expect(await readFile(pdfPath())).toEqual(pdf);
  });

  it('is null when the PDF is missing', async () => {
    await store.save(cert, pdf, 'api');
    await rm(pdfPath());
    expect(await store.existing(cert)).toBeNull();
  });

  it.each([
    ['not JSON', '{"userId": 101, '],
    ['JSON of the wrong shape', '[1, 2, 3]\n'],
    ['a bad sha256', null],
  ])('is null for a broken sidecar: %s', async (_what, text) => {
    await store.save(cert, pdf, 'api');
    const good = JSON.parse(await readFile(sidecarPath(), 'utf8'));
    await writeFile(sidecarPath(), text ?? JSON.stringify({ ...good, sha256: 'nope' }));
    expect(await store.existing(cert)).toBeNull();
  });

  it("is null for another certificate's sidecar", async () => {
    await store.save(cert, pdf, 'api');
    const other = { ...cert, issuedId: 43 };
    const otherPaths = store.paths(other);
    await writeFile(otherPaths.pdf, pdf);
    await writeFile(otherPaths.sidecar, await readFile(sidecarPath()));
    expect(await store.existing(other)).toBeNull();
  });
});

describe('CertificateStore.checkWritable', () => {
  it('creates OUTPUT_DIR and leaves no probe behind', async () => {
    const fresh = new CertificateStore(path.join(dir, 'a', 'b'), { lmsHost });
    await fresh.checkWritable();
    expect(await partialFiles(path.join(dir, 'a', 'b'))).toEqual([]);
  });

  it('throws OUTPUT_UNWRITABLE when OUTPUT_DIR lies under a regular file', async () => {
    await writeFile(path.join(dir, 'file'), 'x');
    const outputDir = path.join(dir, 'file', 'out');
    const error = await new CertificateStore(outputDir, { lmsHost }).checkWritable().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputUnavailableError);
    expect(error).toMatchObject({ code: 'OUTPUT_UNWRITABLE', errno: 'ENOTDIR', retryable: false });
    expect((error as Error).message).toContain(outputDir);
    expect((error as Error).message).toContain('certharvest resume');
  });
});

describe('new CertificateStore', () => {
  it('says what is wrong with its options', () => {
    expect(() => new CertificateStore(dir, { lmsHost: '' })).toThrow(/lmsHost/);
    expect(() => new CertificateStore('', { lmsHost })).toThrow(/outputDir/);
  });
});

describe('receive and commit (a body streamed to the store)', () => {
  const bigPdf = () =>
    Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(SPILL_BYTES + 300_000), Buffer.from('\n%%EOF\n')]);

  it('keeps a small body in memory until the commit writes it once', async () => {
    const incoming = store.receive(cert);
    await incoming.write(pdf.subarray(0, 10));
    await incoming.write(pdf.subarray(10));
    expect(await partials()).toEqual([]); // nothing on disk yet
    const saved = await store.commit(cert, incoming, 'browser');
    expect(saved).toMatchObject({ status: 'stored', sha256: sha256Hex(pdf), bytes: pdf.length });
    expect((await readFile(pdfPath())).equals(pdf)).toBe(true);
    expect(await partials()).toEqual([]);
  });

  it('streams a big body to a temp file in .partial/ and publishes it byte-identical', async () => {
    const body = bigPdf();
    const incoming = store.receive(cert);
    for (let at = 0; at < body.length; at += 64 * 1024)
      await incoming.write(body.subarray(at, at + 64 * 1024));
    expect(await partials()).toHaveLength(1);
    const saved = await store.commit(cert, incoming, 'browser');
    expect(saved).toMatchObject({ status: 'stored', sha256: sha256Hex(body), bytes: body.length });
    expect((await readFile(pdfPath())).equals(body)).toBe(true);
    expect(await partials()).toEqual([]);
    await incoming.discard(); // harmless after the commit
    expect(await store.existing(cert)).toMatchObject({ sha256: sha256Hex(body) });
  });

  it('a reset starts the body over, in memory and on disk', async () => {
    const incoming = store.receive(cert);
    await incoming.write(randomBytes(SPILL_BYTES + 10));
    await incoming.reset();
    await incoming.write(pdf);
    await store.commit(cert, incoming, 'api');
    expect((await readFile(pdfPath())).equals(pdf)).toBe(true);
  });

  it('discard removes the temp file and writes nothing', async () => {
    const incoming = store.receive(cert);
    await incoming.write(randomBytes(SPILL_BYTES * 2));
    expect(await partials()).toHaveLength(1);
    await incoming.discard();
    expect(await partials()).toEqual([]);
    expect(await store.existing(cert)).toBeNull();
    await expect(incoming.write(pdf)).rejects.toThrow(/after commit or discard/);
  });

  it('makes .partial/ again when it was removed mid-download', async () => {
    const incoming = store.receive(cert);
    await store.save(cert, pdf, 'api'); // .partial/ exists and is remembered
    await rm(path.join(dir, '.partial'), { recursive: true });
    await incoming.write(bigPdf());
    expect(await partials()).toHaveLength(1);
    await incoming.discard();
  });
});

describe('CertificateStore with string ids (Blackboard Learn)', () => {
  const learnCert: Certificate = {
    userId: '_45_1',
    orgUnitId: '7f3c2a10-9b1e-4c5d-8e7f-0a1b2c3d4e5f',
    issuedId: '_123_4',
    awardId: '_9_1',
    title: 'Fire Safety',
    issuedDate: null,
  };
  const learnPdf = () => path.join(dir, '_45_1', '7f3c2a10~2D9b1e~2D4c5d~2D8e7f~2D0a1b2c3d4e5f-_123_4.pdf');

  it('stores them under encoded names, the sidecar holding the ids as strings', async () => {
    const result = await store.save(learnCert, pdf, 'browser', {}, new Date('2026-12-01T00:00:00Z'));
    expect(result).toMatchObject({ status: 'stored', path: learnPdf() });
    expect(await readFile(learnPdf())).toEqual(pdf);
    const sidecar = JSON.parse(await readFile(learnPdf().replace(/\.pdf$/, '.json'), 'utf8'));
    expect(sidecar).toMatchObject({
      userId: '_45_1',
      orgUnitId: '7f3c2a10-9b1e-4c5d-8e7f-0a1b2c3d4e5f',
      issuedId: '_123_4',
      awardId: '_9_1',
    });
    expect(await partials()).toEqual([]);
  });

  it('says already stored the second time, and finds it with existing()', async () => {
    await store.save(learnCert, pdf, 'api');
    expect(await store.existing(learnCert)).toMatchObject({ path: learnPdf(), sha256: sha256Hex(pdf) });
    expect((await store.save(learnCert, pdf, 'api')).status).toBe('already-stored');
  });

  it('does not take a sidecar of other ids for this one', async () => {
    await store.save(learnCert, pdf, 'api');
    const sidecar = learnPdf().replace(/\.pdf$/, '.json');
    const text = await readFile(sidecar, 'utf8');
    await writeFile(sidecar, text.replace('"_45_1"', '"_46_1"'));
    expect(await store.existing(learnCert)).toBeNull();
  });

  it('stores a Brightspace certificate beside them at the same path as before, with numbers', async () => {
    await store.save(learnCert, pdf, 'api');
    await store.save(cert, pdf, 'api');
    expect(await readFile(pdfPath())).toEqual(pdf);
    expect(JSON.parse(await readFile(sidecarPath(), 'utf8'))).toMatchObject({
      userId: 101,
      orgUnitId: 6606,
      issuedId: 42,
      awardId: 7,
    });
    expect((await readdir(dir)).filter((n) => n !== '.partial').sort()).toEqual(['101', '_45_1']);
  });
});
