import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import { CertificateStore, SPILL_BYTES } from '../../src/storage/index.ts';
import { partialShard } from '../../src/storage/atomic-write.ts';
import { tempDir } from '../helpers/index.ts';

// Modes are set whole (fchmod/chmod), whatever the umask: under 077 a plain open(…, 0o640) would
// give 0600, and under 022 a requested 0660 would give 0640.

const cert: Certificate = {
  userId: 101,
  orgUnitId: 6606,
  issuedId: 42,
  awardId: 7,
  title: 'Safety Training',
  issuedDate: null,
};
const pdf = Buffer.from('%PDF-1.7\ntrailer\n<<>>\n%%EOF\n');
const lmsHost = 'school.example';
const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe.each([0o077, 0o022])('file and folder modes under umask %o', (umask) => {
  let before: number;
  beforeAll(() => {
    before = process.umask(umask);
  });
  afterAll(() => {
    process.umask(before);
  });

  it('defaults: PDFs and sidecars 0640; OUTPUT_DIR, user folders, .partial/ and its shards 0750', async () => {
    const out = path.join(dir, 'made', 'out');
    const store = new CertificateStore(out, { lmsHost });
    const saved = await store.save(cert, pdf, 'api');
    const paths = store.paths(cert);
    expect(saved.path).toBe(paths.pdf);
    expect(await modeOf(paths.pdf)).toBe(0o640);
    expect(await modeOf(paths.sidecar)).toBe(0o640);
    for (const folder of [
      path.join(dir, 'made'),
      out,
      paths.dir,
      path.join(out, '.partial'),
      path.join(out, '.partial', partialShard(cert.userId)),
    ]) {
      expect([folder, await modeOf(folder)]).toEqual([folder, 0o750]);
    }
  });

  it('set modes: a streamed PDF, its sidecar and the folders take fileMode and dirMode', async () => {
    const store = new CertificateStore(dir, { lmsHost, fileMode: 0o660, dirMode: 0o770 });
    const incoming = store.receive(cert);
    await incoming.write(Buffer.concat([pdf, Buffer.alloc(SPILL_BYTES + 1, 0x20)]));
    await store.commit(cert, incoming, 'browser');
    await incoming.discard();
    const paths = store.paths(cert);
    expect(await modeOf(paths.pdf)).toBe(0o660);
    expect(await modeOf(paths.sidecar)).toBe(0o660);
    expect(await modeOf(paths.dir)).toBe(0o770);
    expect(await modeOf(path.join(dir, '.partial'))).toBe(0o770);
  });
});

describe('new CertificateStore: modes', () => {
  it('refuses a mode beyond 0o777, or one the store itself could not use', () => {
    expect(() => new CertificateStore(dir, { lmsHost, fileMode: 0o1640 })).toThrow(/options\.fileMode/);
    expect(() => new CertificateStore(dir, { lmsHost, fileMode: 0o440 })).toThrow(/owner's bits 0o600/);
    expect(() => new CertificateStore(dir, { lmsHost, dirMode: 0o650 })).toThrow(/owner's bits 0o700/);
    expect(() => new CertificateStore(dir, { lmsHost, dirMode: 1.5 })).toThrow(/options\.dirMode/);
    expect(new CertificateStore(dir, { lmsHost, fileMode: 0o600, dirMode: 0o700 })).toMatchObject({
      fileMode: 0o600,
      dirMode: 0o700,
    });
  });
});
