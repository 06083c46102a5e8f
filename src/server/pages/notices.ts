/** The one-line notices a POST redirects with (`?notice=`): a fixed set, nothing of the request echoed. */
export const NOTICES = {
  cancelled: {
    ok: true,
    text: 'Cancelled: its queued work is removed from the queues; jobs already running finish first.',
  },
  'already-cancelled': { ok: true, text: 'This batch was already cancelled.' },
  'already-ended': { ok: false, text: 'Nothing to cancel: the batch had already ended.' },
  retried: {
    ok: true,
    text: 'Retry queued: this new batch discovers the failed users and certificates again.',
  },
  'still-running': {
    ok: false,
    text: 'Not retried: the batch is still running. Retry it once it has ended, or cancel it first.',
  },
  'nothing-to-retry': {
    ok: false,
    text: 'Nothing to retry: user references refused as malformed are not retried (submit them corrected).',
  },
} as const satisfies Record<string, { ok: boolean; text: string }>;
export type Notice = keyof typeof NOTICES;

export const isNotice = (v: unknown): v is Notice => typeof v === 'string' && Object.hasOwn(NOTICES, v);
