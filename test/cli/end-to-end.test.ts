import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleepUntil, tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

const BIN = path.resolve('bin/certharvest.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI in `cwd` (which holds the .env), with a clean environment. */
function cli(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(extraEnv) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { PATH, HOME, CHROMIUM_PATH } = process.env;
  return { PATH, HOME, ...(CHROMIUM_PATH ? { CHROMIUM_PATH } : {}), ...extra };
}

let dir: string;
let cleanup: () => Promise<void>;
let sandbox: ChildProcess;
let worker: ChildProcess;
let envBlock = '';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('certharvest-cli'));
  // 1. A separately started sandbox; all we take from it is the .env block it prints.
  sandbox = spawn(process.execPath, [BIN, 'sandbox', '--port', '0', '--users', '12'], {
    cwd: dir,
    env: cleanEnv({}),
  });
  let out = '';
  sandbox.stdout!.on('data', (d: Buffer) => (out += d));
  await sleepUntil(() => /LMS_PASSWORD=.+\n/.test(out), 30_000);
  envBlock = out
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .join('\n');
  await writeFile(
    path.join(dir, '.env'),
    `${envBlock}\nREDIS_URL=${testRedisUrl()}\nQUEUE_PREFIX=${uniquePrefix('cli')}\n` +
      `SECRETS_KEY=${randomBytes(32).toString('base64')}\nOUTPUT_DIR=./out\nLOG_LEVEL=warn\n`,
  );
  // 2. A worker process configured only through that .env.
  worker = spawn(process.execPath, [BIN, 'worker'], { cwd: dir, env: cleanEnv({}) });
});

afterAll(async () => {
  for (const child of [worker, sandbox]) {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  await cleanup();
});

describe('the CLI against a separately started sandbox, configured by its printed .env only', () => {
  it('prints a complete .env block', () => {
    for (const key of [
      'LMS_URL',
      'OAUTH_TOKEN_URL',
      'OAUTH_AUTHORIZE_URL',
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'OAUTH_REFRESH_TOKEN',
      'LMS_USERNAME',
      'LMS_PASSWORD',
    ]) {
      expect(envBlock).toMatch(new RegExp(`^${key}=\\S+`, 'm'));
    }
  });

  it('submit --wait exits 0 when every certificate is stored, and they are on disk', async () => {
    const run = await cli(['submit', '--all-users', '--wait'], dir);
    // The worker may still be starting: then submit says so and waits anyway.
    expect(run.stderr.replace(/^warning: no worker is consuming the queues yet.*\n/m, '')).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/failed:\s+0/);
    const stored = Number(/stored:\s+(\d+)/.exec(run.stdout)?.[1]);
    expect(stored).toBeGreaterThan(0);
    let pdfs = 0;
    // User folders only: beside them lie the folder's marker and `_batches/` (the manifests).
    for (const user of await readdir(path.join(dir, 'out'), { withFileTypes: true })) {
      if (!user.isDirectory() || user.name.startsWith('_') || user.name.startsWith('.')) continue;
      pdfs += (await readdir(path.join(dir, 'out', user.name))).filter((f) => f.endsWith('.pdf')).length;
    }
    expect(pdfs).toBe(stored);
  });

  it('submit --wait exits 1 when a user fails, naming the reason; status says it, and its failures as CSV', async () => {
    const run = await cli(['submit', '--users', '999999', '--wait', '--batch-id', 'one-unknown'], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/user userId 999999: \[LMS_USER_NOT_FOUND\]/);

    const status = await cli(['status', 'one-unknown'], dir);
    expect(status.code).toBe(1); // done, with failures
    const csv = await cli(['status', 'one-unknown', '--failed', '--csv'], dir);
    expect(csv.code).toBe(1);
    expect(csv.stdout.trim().split('\n')).toEqual([
      'kind,ref,code,reason,at',
      expect.stringMatching(/^user,userId 999999,LMS_USER_NOT_FOUND,.+,\d{4}-/),
    ]);
    const batches = await cli(['status', '--csv', '--limit', '50'], dir);
    expect(batches.stdout.split('\n')[0]).toBe(
      'batchId,createdAt,done,usersTotal,usersDone,usersFailed,certsFound,certsStored,certsAlreadyStored,certsFailed,state',
    );
    expect(batches.stdout).toMatch(/^one-unknown,\S+,true,1,0,1,/m);
  });

  it('no worker on the queues: submit --wait warns, its --timeout exits 3; status of the running batch exits 3', async () => {
    const alone = { QUEUE_PREFIX: uniquePrefix('no-worker') }; // a fleet nobody consumes
    const run = await cli(
      ['submit', '--users', '5', '--wait', '--timeout', '1', '--batch-id', 'held'],
      dir,
      alone,
    );
    expect(run.stderr).toMatch(
      /warning: no worker is consuming the queues yet \(start one: certharvest worker\)/,
    );
    expect(run.stdout).toMatch(/stopped waiting after 1 s/);
    expect(run.code).toBe(3);
    expect((await cli(['status', 'held'], dir, alone)).code).toBe(3);
  });

  it('exits 2 on a usage error, naming the option', async () => {
    const run = await cli(['submit'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--users, --file or --all-users/);
    const badBy = await cli(['submit', '--users', '1', '--by', 'email'], dir);
    expect(badBy.code).toBe(2);
    expect(badBy.stderr).toMatch(/--by/);
  });

  it('exits 2 on a configuration error, naming the variable, never echoing a secret', async () => {
    const run = await cli(['submit', '--users', '1'], dir, {
      REDIS_URL: 'http://nope',
      SECRETS_KEY: 'short-secret-value',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/REDIS_URL: expected a redis:\/\//);
    expect(run.stderr).toMatch(/SECRETS_KEY: expected 32 random bytes/);
    expect(run.stderr).not.toContain('short-secret-value');
  });

  it('status shows the recent batches', async () => {
    const run = await cli(['status'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^done\s+\S+\s+batch b-/m);
  });
});
