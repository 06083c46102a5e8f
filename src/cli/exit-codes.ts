/** Exit codes of every certharvest command (PRODUCT.md). */
export const EXIT = {
  /** Everything asked for was done. */
  OK: 0,
  /** The work ran but some certificates (or users) failed. */
  SOME_FAILED: 1,
  /** Usage or configuration error. */
  USAGE: 2,
  /** The batch is still running (`status`), or `submit --wait --timeout` stopped waiting first. */
  RUNNING: 3,
} as const;
