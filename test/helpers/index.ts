import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The run's Redis server URL (started by test/setup/global.ts). */
export const testRedisUrl = (): string => inject('redisUrl');

/** A queue prefix no other test uses, so tests can run in any order and in parallel. */
export const uniquePrefix = (name = 't'): string => `test-${name}-${randomBytes(4).toString('hex')}`;

/** A fresh temp folder, removed by the returned `cleanup`. */
export async function tempDir(name = 'certharvest'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `${name}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
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
