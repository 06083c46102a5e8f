import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Job } from 'bullmq';
import { inject } from 'vitest';
import type { LogLevel } from '../../src/config/index.ts';
import { createLogger, type Logger } from '../../src/log/index.ts';
import { connectRedis, dataNodes, type RedisConnection, type RedisTarget } from '../../src/queue/index.ts';

/**
 * The run's Redis URL (started by test/setup/global.ts): one server, or in `npm run test:cluster`
 * (TEST_REDIS_CLUSTER=1) a node of the Redis Cluster, from which clients learn the others.
 */
export const testRedisUrl = (): string => inject('redisUrl');

/** True in the cluster run: the same tests, on a Redis Cluster. */
export const testRedisIsCluster = (): boolean => inject('redisCluster');

/** The run's Redis as `connectRedis` and the configuration take it. */
export function testRedisTarget(): RedisTarget {
  const url = new URL(testRedisUrl());
  return testRedisIsCluster()
    ? { redisUrl: url.href, redisCluster: { nodes: [{ host: url.hostname, port: Number(url.port) }] } }
    : { redisUrl: url.href };
}

/** The run's Redis as a worker's or the CLI's environment names it (REDIS_URL, REDIS_CLUSTER). */
export function testRedisEnv(): { REDIS_URL: string; REDIS_CLUSTER?: string } {
  return { REDIS_URL: testRedisUrl(), ...(testRedisIsCluster() ? { REDIS_CLUSTER: 'true' } : {}) };
}

/**
 * A queue prefix no other test uses, so tests can run in any order and in parallel. On a cluster
 * it is a hash tag (`{test-…}`), as a cluster requires: each test's keys in a slot of their own.
 */
export const uniquePrefix = (name = 't'): string => {
  const prefix = `test-${name}-${randomBytes(4).toString('hex')}`;
  return testRedisIsCluster() ? `{${prefix}}` : prefix;
};

/** Every key matching `pattern`, from every server that holds data (KEYS on each master of a cluster). */
export async function keysMatching(redis: RedisConnection, pattern: string): Promise<string[]> {
  const perNode = await Promise.all(dataNodes(redis).map((node) => node.keys(pattern)));
  return perNode.flat().sort();
}

/** A fresh temp folder, removed by the returned `cleanup`. */
export async function tempDir(name = 'certharvest'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `${name}-`));
  // Retried: a worker stopping at the same moment may still write a last file (ENOTEMPTY).
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) };
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes. */
export async function sleepUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  stepMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A logger that keeps every line (parsed JSON) in `lines`, for assertions and secret scans. */
export function captureLogger(level: LogLevel = 'debug'): {
  logger: Logger;
  lines: Record<string, unknown>[];
  text: () => string;
} {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: createLogger({ level, destination: sink }), lines, text: () => raw.join('\n') };
}

/** A Redis connection to the run's server and a key prefix of its own; `close()` quits. */
export async function withRedis(
  name = 'r',
): Promise<{ redis: RedisConnection; prefix: string; close: () => Promise<void> }> {
  const redis = await connectRedis(testRedisTarget());
  return { redis, prefix: uniquePrefix(name), close: async () => void (await redis.quit()) };
}

/** A stand-in BullMQ job for unit tests of code that reads a job (never for processors under test). */
export function fakeJob<T>(data: T, overrides: Partial<Job<T>> = {}): Job<T> {
  return {
    id: `fake-${randomBytes(3).toString('hex')}`,
    name: 'fake',
    queueName: 'fake',
    data,
    attemptsMade: 0,
    attemptsStarted: 1,
    stalledCounter: 0,
    opts: { attempts: 3 },
    log: async () => 0,
    ...overrides,
  } as unknown as Job<T>;
}

const BIN = path.resolve('bin/certharvest.js');

/** The environment a CLI child gets: PATH, HOME, CHROMIUM_PATH when set, and `extra` only. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PATH, HOME, CHROMIUM_PATH } = process.env;
  return { PATH, HOME, ...(CHROMIUM_PATH ? { CHROMIUM_PATH } : {}), ...extra };
}

export interface CliChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Start the real CLI (`bin/certharvest.js`) with a clean environment plus `env`. */
export function spawnCli(args: string[], env: Record<string, string>, cwd = process.cwd()): CliChild {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env) });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d));
  child.stderr?.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Run the real CLI to its end; `stdin`, when given, is written to it and closed. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  cwd?: string,
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnCli(args, env, cwd);
  if (stdin !== undefined) run.child.stdin?.end(stdin);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Every file under `OUTPUT_DIR/.partial/` (its shard folders included), relative to it. */
export async function partialFiles(outputDir: string): Promise<string[]> {
  const root = path.join(outputDir, '.partial');
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * A virtual display (Debian's Xvfb, installed by `scripts/setup.sh --tests`) for the one test
 * that needs a headed browser. Resolves once the X server accepts clients.
 */
export async function startXvfb(): Promise<{ name: string; stop: () => void }> {
  const number = 90 + Math.floor(Math.random() * 400);
  const name = `:${number}`;
  const server = spawn('Xvfb', [name, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
    stdio: 'ignore',
  });
  const failed = new Promise<never>((_, reject) => {
    server.once('error', (err) =>
      reject(new Error(`Xvfb did not start (run scripts/setup.sh --tests): ${err.message}`)),
    );
    server.once('exit', (code) => reject(new Error(`Xvfb exited with code ${code}`)));
  });
  const socket = `/tmp/.X11-unix/X${number}`;
  await Promise.race([failed, sleepUntil(() => existsSync(socket), 10_000)]);
  failed.catch(() => {});
  return { name, stop: () => server.kill('SIGTERM') };
}
export { settleUser } from './settle-user.ts';
export { discoverJobOf } from './settle-user.ts';
