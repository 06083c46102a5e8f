import { afterEach, describe, expect, it } from 'vitest';
import { getFreePort } from '../../src/util/free-port.ts';
import { runCli, sleepUntil, spawnCli, testRedisUrl, uniquePrefix, type CliChild } from '../helpers/index.ts';

let board: CliChild | undefined;
afterEach(() => {
  if (board && board.child.exitCode === null) board.child.kill('SIGKILL');
});

describe('certharvest board refuses a weak password where it matters', () => {
  it('BOARD_PASSWORD=x on 0.0.0.0: a config error naming BOARD_PASSWORD and why, never the value', async () => {
    const run = await runCli(['board'], {
      REDIS_URL: testRedisUrl(),
      BOARD_USER: 'ops',
      BOARD_PASSWORD: 'pw-x9',
      BOARD_HOST: '0.0.0.0',
      BOARD_READ_ONLY: 'false',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /BOARD_PASSWORD: expected at least 12 characters when the board listens beyond loopback/,
    );
    expect(run.stderr + run.stdout).not.toContain('pw-x9');
  });

  it('a long password beyond loopback, read-write: starts, with a warning in its log', async () => {
    const port = await getFreePort();
    board = spawnCli(['board'], {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('board-cli'),
      BOARD_USER: 'ops',
      BOARD_PASSWORD: 'a board password of length',
      BOARD_HOST: '0.0.0.0',
      BOARD_PORT: String(port),
      BOARD_READ_ONLY: 'false',
    });
    // The warning is logged once the server listens, beside the "Bull Board:" line: wait for both.
    const warned = /"level":40.*reachable beyond this machine or can change jobs/;
    await sleepUntil(() => warned.test(board!.stdout()) || board!.child.exitCode !== null, 20_000);
    expect(board.child.exitCode, board.stderr()).toBeNull();
    expect(board.stdout()).toMatch(warned);
    expect(board.stdout()).toContain('Bull Board:');
    board.child.kill('SIGTERM');
    expect(await board.exited).toBe(0);
  }, 60_000);
});
