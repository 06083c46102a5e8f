/**
 * The one decision of what state a batch is in. The overview, the detail, the API, the library,
 * the webhook and the batch page all show this; none decides it again.
 */

export const BATCH_STATES = ['running', 'cancelling', 'done', 'done-with-failures', 'cancelled'] as const;
/**
 * - `running`: work is left;
 * - `cancelling`: cancelled, its queued work removed, jobs that were running still finishing;
 * - `done`: every user discovered and every certificate stored (or already stored);
 * - `done-with-failures`: done, but a reference was refused or failed, or a certificate failed;
 * - `cancelled`: cancelled and nothing of it runs any more.
 */
export type BatchState = (typeof BATCH_STATES)[number];

/** What the state is computed from: the counters and two marks. */
export interface BatchStateFacts {
  done: boolean;
  usersFailed: number;
  certsFailed: number;
  /** When `cancel` was asked for (ISO 8601), absent when never. */
  cancelledAt?: string | undefined;
}

export function batchState(s: BatchStateFacts): BatchState {
  if (s.cancelledAt) return s.done ? 'cancelled' : 'cancelling';
  if (!s.done) return 'running';
  return s.usersFailed > 0 || s.certsFailed > 0 ? 'done-with-failures' : 'done';
}

/** A state nothing will change any more. */
export const isFinal = (state: BatchState): boolean =>
  state === 'done' || state === 'done-with-failures' || state === 'cancelled';

/** The one state that means "every certificate asked for is on disk". */
export const isSuccess = (state: BatchState): boolean => state === 'done';
