import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CertificateStore,
  claimOutputDir,
  OUTPUT_MARKER_NAME,
  OutputDirOtherLmsError,
  OutputMarkerInvalidError,
  readOutputMarker,
  type OutputMarker,
} from '../../src/storage/index.ts';
import { captureLogger, tempDir } from '../helpers/index.ts';

const A = { lmsHost: 'lms-a.example.edu', queuePrefix: 'certharvest' };
const B = { lmsHost: 'lms-b.example.edu:8443', queuePrefix: 'certharvest' };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('output-marker')));
afterEach(() => cleanup());

const markerFile = () => path.join(dir, OUTPUT_MARKER_NAME);
const markerText = () => readFile(markerFile(), 'utf8');

describe('claimOutputDir', () => {
  it('on first use makes the folder and writes the marker: 2-space JSON, the file mode, no temp file left', async () => {
    const out = path.join(dir, 'new', 'certificates');
    const marker = await claimOutputDir(out, { ...A, fileMode: 0o600, dirMode: 0o700 });

    expect(marker).toEqual({
      schemaVersion: 1,
      lmsHost: 'lms-a.example.edu',
      queuePrefix: 'certharvest',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const file = path.join(out, OUTPUT_MARKER_NAME);
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(marker, null, 2)}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    expect(await readdir(path.join(out, '.partial'))).toEqual([]);
    expect(await readOutputMarker(out)).toEqual(marker);
  });

  it('the same host again: the marker is kept as it is, no warning', async () => {
    const first = await claimOutputDir(dir, A);
    const before = await markerText();
    const { logger, lines } = captureLogger('warn');
    // A hand-edited marker in capitals is the same host.
    await writeFile(markerFile(), before.replace(A.lmsHost, A.lmsHost.toUpperCase()));

    expect(await claimOutputDir(dir, A, logger)).toEqual({ ...first, lmsHost: A.lmsHost.toUpperCase() });
    expect(lines).toEqual([]);
  });

  it('another host is refused, naming both hosts, the marker and the fix; nothing is written', async () => {
    await claimOutputDir(dir, A);
    const before = await markerText();

    const err = await claimOutputDir(dir, B).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(OutputDirOtherLmsError);
    expect(err).toMatchObject({
      code: 'OUTPUT_DIR_OTHER_LMS',
      markerHost: A.lmsHost,
      configuredHost: B.lmsHost,
      markerPath: markerFile(),
    });
    const { message } = err as OutputDirOtherLmsError;
    expect(message).toContain(A.lmsHost);
    expect(message).toContain(B.lmsHost);
    expect(message).toContain(markerFile());
    expect(message).toContain(
      `point OUTPUT_DIR at another folder, or delete the marker if this folder really moved to ${B.lmsHost}`,
    );
    expect(await markerText()).toBe(before);
  });

  it('another queue prefix on the same host: one warning line, the claim goes through', async () => {
    const first = await claimOutputDir(dir, A);
    const { logger, lines } = captureLogger('warn');

    const again = await claimOutputDir(dir, { ...A, queuePrefix: 'certharvest-staging' }, logger);

    expect(again).toEqual(first); // the marker keeps the first prefix
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      markerQueuePrefix: 'certharvest',
      queuePrefix: 'certharvest-staging',
      msg: expect.stringContaining('QUEUE_PREFIX=certharvest-staging'),
    });
  });

  describe('a marker that is not one is refused, naming the file', () => {
    for (const [what, make, reason] of [
      ['not JSON', () => writeFile(markerFile(), '{"schemaVersion": 1, "lmsH'), /not valid JSON/],
      ['empty', () => writeFile(markerFile(), ''), /not valid JSON/],
      [
        'the wrong shape',
        () =>
          writeFile(markerFile(), JSON.stringify({ schemaVersion: 1, queuePrefix: 'x', createdAt: 'now' })),
        /lmsHost/,
      ],
      [
        'a newer schema',
        () => writeFile(markerFile(), JSON.stringify({ ...A, schemaVersion: 2, createdAt: 'now' })),
        /schemaVersion/,
      ],
      ['a JSON array', () => writeFile(markerFile(), '[]'), /the whole file/],
      ['a folder', () => mkdir(markerFile()), /folder/],
      ['a symbolic link', () => symlink('/etc/hostname', markerFile()), /symbolic link/],
    ] as const) {
      it(what, async () => {
        await make();
        for (const attempt of [() => claimOutputDir(dir, A), () => readOutputMarker(dir)]) {
          const err = await attempt().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(OutputMarkerInvalidError);
          expect(err).toMatchObject({ code: 'OUTPUT_MARKER_INVALID', markerPath: markerFile() });
          expect((err as Error).message).toContain(markerFile());
          expect((err as Error).message).toMatch(reason);
        }
      });
    }
  });

  it('concurrent claims of a new folder agree on one marker', async () => {
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) => claimOutputDir(dir, { ...A, queuePrefix: `p${i}` })),
    );
    const onDisk = await readOutputMarker(dir);
    for (const marker of claims) expect(marker).toEqual(onDisk);
    expect(await readdir(path.join(dir, '.partial'))).toEqual([]);

    // Racing for two hosts: exactly one wins, every other claim is refused.
    const other = path.join(dir, 'raced');
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => claimOutputDir(other, i % 2 ? A : B)),
    );
    const winner = (await readOutputMarker(other))!.lmsHost;
    for (const [i, r] of results.entries()) {
      const host = (i % 2 ? A : B).lmsHost;
      if (host === winner) expect(r.status).toBe('fulfilled');
      else expect(r.status === 'rejected' && r.reason).toBeInstanceOf(OutputDirOtherLmsError);
    }
  });

  it('concurrent claims from separate processes agree on one marker', async () => {
    const module = path.resolve('src/storage/index.ts');
    const startAt = Date.now() + 2_500;
    const script = `
      import { claimOutputDir } from ${JSON.stringify(module)};
      const [dir, prefix, startAt] = process.argv.slice(1);
      while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
      const m = await claimOutputDir(dir, { lmsHost: 'lms-a.example.edu', queuePrefix: prefix });
      process.stdout.write(JSON.stringify(m));`;
    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        run(process.execPath, [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
          dir,
          `p${i}`,
          `${startAt}`,
        ]),
      ),
    );
    const markers = outputs.map((o) => JSON.parse(o.stdout) as OutputMarker);
    const onDisk = await readOutputMarker(dir);
    for (const marker of markers) expect(marker).toEqual(onDisk);
  }, 30_000);
});

describe('what walks OUTPUT_DIR leaves the marker and _batches/ alone', () => {
  it('the partial sweep keeps them, whatever their age', async () => {
    await claimOutputDir(dir, A);
    await mkdir(path.join(dir, '_batches'));
    await writeFile(path.join(dir, '_batches', 'b-1.csv'), 'userId\n1\n');
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(markerFile(), longAgo, longAgo);

    await new CertificateStore(dir, { lmsHost: A.lmsHost }).sweepPartials();

    expect((await readdir(dir)).sort()).toEqual(['.certharvest-output.json', '.partial', '_batches']);
    expect(await readdir(path.join(dir, '_batches'))).toEqual(['b-1.csv']);
  });
});
