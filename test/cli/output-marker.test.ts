/** One output folder, one LMS: the worker and the doctor refuse a folder marked for another host. */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { loadConfig } from '../../src/config/index.ts';
import { doctorAssembly } from '../../src/doctor/assembly.ts';
import { DoctorState } from '../../src/doctor/state.ts';
import { checkOutputDir } from '../../src/doctor/setup-checks.ts';
import { claimOutputDir, OUTPUT_MARKER_NAME } from '../../src/storage/index.ts';
import { runCli, tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

const THEIRS = 'lms-a.example.edu';
const OURS = 'lms-b.example.edu';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('output-marker-cli')));
afterEach(() => cleanup());

/** A worker configured for OURS (the API strategy: no browser login needed) writing to `dir`. */
const workerEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  LMS_URL: `https://${OURS}`,
  OAUTH_CLIENT_ID: 'id',
  OAUTH_CLIENT_SECRET: 'secret',
  OAUTH_REFRESH_TOKEN: 'refresh',
  DOWNLOAD_STRATEGY: 'api',
  SECRETS_KEY: randomBytes(32).toString('base64'),
  REDIS_URL: testRedisUrl(),
  QUEUE_PREFIX: uniquePrefix('marker'),
  OUTPUT_DIR: dir,
  LOG_LEVEL: 'silent',
  ...extra,
});

describe('OUTPUT_DIR marked for another LMS', () => {
  it('certharvest worker exits 2 naming both hosts, the marker and the fix; the marker is untouched', async () => {
    await claimOutputDir(dir, { lmsHost: THEIRS, queuePrefix: 'certharvest' });
    const marker = path.join(dir, OUTPUT_MARKER_NAME);
    const before = await readFile(marker, 'utf8');

    const run = await runCli(['worker'], workerEnv(), dir);

    expect(run.code).toBe(EXIT.USAGE);
    expect(run.stderr).toContain(THEIRS);
    expect(run.stderr).toContain(OURS);
    expect(run.stderr).toContain(marker);
    expect(run.stderr).toContain('point OUTPUT_DIR at another folder, or delete the marker');
    expect(await readFile(marker, 'utf8')).toBe(before);
  }, 60_000);

  it('certharvest worker exits 2 for a marker that is not JSON, naming the file', async () => {
    const marker = path.join(dir, OUTPUT_MARKER_NAME);
    await writeFile(marker, 'lms-a.example.edu\n');

    const run = await runCli(['worker'], workerEnv(), dir);

    expect(run.code).toBe(EXIT.USAGE);
    expect(run.stderr).toContain(`the OUTPUT_DIR marker ${marker} is not a certharvest output marker`);
  }, 60_000);

  it("the doctor's output check fails naming both hosts, and never writes a marker itself", async () => {
    const doctorFor = async (outputDir: string) => {
      const state = new DoctorState({}, doctorAssembly);
      state.provide('base', loadConfig({ env: workerEnv({ OUTPUT_DIR: outputDir }), envFile: false }));
      return checkOutputDir(state);
    };
    await claimOutputDir(dir, { lmsHost: THEIRS, queuePrefix: 'certharvest' });

    const refused = await doctorFor(dir);
    expect(refused.ok).toBe(false);
    expect(refused.found).toContain(THEIRS);
    expect(refused.found).toContain(OURS);
    expect(refused.fix).toBe(
      `point OUTPUT_DIR at another folder, or delete the marker if this folder really moved to ${OURS}`,
    );

    const fresh = path.join(dir, 'fresh');
    const unmarked = await doctorFor(fresh);
    expect(unmarked.ok).toBe(true);
    expect(unmarked.found).toContain(`not marked yet (the first worker marks it for ${OURS})`);
    await expect(readFile(path.join(fresh, OUTPUT_MARKER_NAME))).rejects.toMatchObject({ code: 'ENOENT' });

    await claimOutputDir(fresh, { lmsHost: OURS, queuePrefix: 'another-prefix' });
    const otherPrefix = await doctorFor(fresh);
    expect(otherPrefix.ok).toBe('warn');
    expect(otherPrefix.found).toContain('QUEUE_PREFIX=another-prefix');
  });
});
