import type { BatchState } from '../queue/index.ts';

/** Exit codes of every certharvest command (PRODUCT.md). */
export const EXIT = {
  /** Everything asked for was done. */
  OK: 0,
  /** The work ran but some certificates (or users) failed, or the batch was cancelled. */
  SOME_FAILED: 1,
  /** Usage or configuration error. */
  USAGE: 2,
  /** The batch is still running or cancelling (`status`), or `--wait --timeout` stopped waiting first. */
  RUNNING: 3,
  /** Ctrl-C (SIGINT) stopped `--wait`; the batch itself goes on (128 + SIGINT, as shells report it). */
  INTERRUPTED: 130,
} as const;

/**
 * The exit code a batch's state means, for every command that reports one batch (`status <id>`,
 * `submit --wait`, `retry --wait`, `demo`): only `done` is success.
 */
export function exitCodeOf(state: BatchState): number {
  switch (state) {
    case 'done':
      return EXIT.OK;
    case 'done-with-failures':
    case 'cancelled':
      return EXIT.SOME_FAILED;
    case 'running':
    case 'cancelling':
      return EXIT.RUNNING;
  }
}
