import { DelayedError, UnrecoverableError, type Job } from 'bullmq';

/** What the processors know of an error: its code, whether retrying can help, how long to wait. */
export interface FailureFacts {
  code: string;
  message: string;
  retryable: boolean;
  /** Set for rate limiting: wait this long, without spending an attempt. */
  retryAfterMs: number | undefined;
}

/**
 * Decide, in one place, what an error means for a job. Typed certharvest errors carry `code` and
 * `retryable`; rate-limit errors carry a wait; anything unknown (a network hiccup, a bug) is
 * retried, since BullMQ's attempt limit bounds it.
 */
export function describeFailure(err: unknown): FailureFacts {
  const e = err as {
    code?: unknown;
    retryable?: unknown;
    retryAfterMs?: unknown;
    retryAfterSeconds?: unknown;
    message?: unknown;
  };
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(e.code) ? e.code : 'UNEXPECTED';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const retryAfterMs =
    typeof e?.retryAfterMs === 'number'
      ? e.retryAfterMs
      : typeof e?.retryAfterSeconds === 'number' && code.includes('RATE_LIMITED')
        ? e.retryAfterSeconds * 1000
        : undefined;
  return {
    code,
    message,
    retryable: e?.retryable !== false,
    retryAfterMs: code.includes('RATE_LIMITED') ? (retryAfterMs ?? 5_000) : undefined,
  };
}

export interface FailureHandling {
  /** Called once, when this failure is the job's last word (unrecoverable or out of attempts). */
  onFinal(facts: FailureFacts): Promise<void>;
}

/**
 * Turn an error into what BullMQ should do: a rate-limit delay that costs no attempt, an
 * `UnrecoverableError` with the reason in words, or the error itself for a normal retry.
 */
export async function handleJobFailure(
  job: Job,
  token: string | undefined,
  err: unknown,
  handling: FailureHandling,
): Promise<Error> {
  if (err instanceof DelayedError || err instanceof UnrecoverableError) return err;
  const facts = describeFailure(err);
  if (facts.retryAfterMs !== undefined && token) {
    await job.log(
      `rate limited by the LMS: waiting ${Math.ceil(facts.retryAfterMs / 1000)} s (no attempt spent)`,
    );
    await job.moveToDelayed(Date.now() + facts.retryAfterMs, token);
    return new DelayedError();
  }
  const attempts = job.opts.attempts ?? 1;
  const last = !facts.retryable || job.attemptsMade + 1 >= attempts;
  await job.log(
    `${last ? 'failed' : `attempt ${job.attemptsMade + 1}/${attempts} failed`}: [${facts.code}] ${facts.message}`,
  );
  if (!last) return err instanceof Error ? err : new Error(facts.message);
  await handling.onFinal(facts);
  return new UnrecoverableError(`[${facts.code}] ${facts.message}`);
}
