import { afterEach, describe, expect, it } from 'vitest';
import { getFreePort } from '../../src/util/free-port.ts';
import { startRedisServer, type RedisServerHandle } from '../../src/util/redis-server.ts';
import { sleepUntil, spawnCli, uniquePrefix, type CliChild } from '../helpers/index.ts';

let redis: RedisServerHandle | undefined;
let board: CliChild | undefined;
afterEach(async () => {
  if (board && board.child.exitCode === null) board.child.kill('SIGKILL');
  await redis?.stop();
});

/** A board on its own Redis, listening: its URL. */
async function startBoard(): Promise<string> {
  redis = await startRedisServer();
  const port = await getFreePort();
  board = spawnCli(['board', '--grace', '5'], {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniquePrefix('shutdown'),
    BOARD_USER: 'ops',
    BOARD_PASSWORD: 'a long enough board password',
    BOARD_PORT: String(port),
    LOG_LEVEL: 'info',
  });
  await sleepUntil(() => board!.stdout().includes('Bull Board:') || board!.child.exitCode !== null, 20_000);
  expect(board.child.exitCode, board.stderr()).toBeNull();
  return `http://127.0.0.1:${port}/`;
}

/** SIGTERM the board: its exit code (or "still running" after 8 s) and how long it took. */
async function terminate(): Promise<{ code: number | null | 'still running'; took: number }> {
  const sent = Date.now();
  board!.child.kill('SIGTERM');
  const code = await Promise.race([
    board!.exited,
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), 8_000)),
  ]);
  return { code, took: Date.now() - sent };
}

describe('certharvest board shutdown', () => {
  it('exits at once on SIGTERM with Redis up', async () => {
    const url = await startBoard();
    expect((await fetch(`${url}readyz`)).status).toBe(200);
    const { code, took } = await terminate();
    expect(code, `stderr: ${board!.stderr()}`).toBe(0);
    expect(took).toBeLessThan(3_000);
  }, 60_000);

  it('exits on the first SIGTERM within its grace after /readyz was probed with Redis down', async () => {
    const url = await startBoard();
    expect((await fetch(`${url}readyz`)).status).toBe(200);

    await redis!.stop();
    // Probes while Redis is away: each answers 503 at once, and a keep-alive connection stays open.
    for (let i = 0; i < 3; i++) {
      const ready = await fetch(`${url}readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready' });
      expect((await fetch(`${url}metrics`)).status).toBe(503);
    }
    // The board's pause refresh runs every 2 s: let it come round while Redis is down.
    await new Promise((r) => setTimeout(r, 2_500));

    const { code, took } = await terminate();
    expect(code, `stderr: ${board!.stderr()}`).toBe(0); // stopped cleanly, not cut short by the grace
    expect(took).toBeLessThan(5_000);
  }, 60_000);
});
