import { DelayedError, UnrecoverableError, WaitingError, type Job, type JobsOptions } from 'bullmq';
import {
  DISCOVER_JOB_OPTIONS,
  DISCOVER_QUEUE,
  DOWNLOAD_JOB_OPTIONS,
  DOWNLOAD_QUEUE,
} from '../queue/index.ts';
import type { FleetBreaker, OutageClock } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { decide } from './failure-policy.ts';

/** A job that can never succeed: failed at once, its code carried as a field. */
export class JobGaveUpError extends UnrecoverableError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'JobGaveUpError';
    this.code = code;
  }
}

/** What carrying out a decision needs: the fleet's breaker and outage clock. */
export interface FleetControl {
  breaker: FleetBreaker;
  /**
   * Pause for a decision: the whole fleet, or only this worker for a fault that is its own (see
   * src/fleet/local-faults.ts). Default: `breaker.trip`.
   */
  trip?: (trip: Parameters<FleetBreaker['trip']>[0]) => Promise<boolean>;
  outage: OutageClock;
  /** Pause the fleet once the LMS has been unreachable this long. */
  outagePauseAfterMs: number;
  logger: Logger;
}

/**
 * Waits a job may take without spending an attempt. Past this, a wait counts as a retry: a request
 * that times out every time (one huge PDF) must not keep its job, and its batch, waiting forever.
 */
export const MAX_FREE_WAITS = 30;

const UNREACHABLE_FIX =
  'check that the LMS is up and reachable from the workers (DNS, firewall, proxy, LMS_URL); the fleet resumes by itself when it answers';

/**
 * Carry out the failure policy's decision for the error a processor threw; returns what the
 * processor must throw to BullMQ:
 *   pause   → trip the breaker, put the job back to waiting (no attempt spent) → WaitingError
 *   wait    → move the job to delayed (no attempt spent) → DelayedError
 *   give-up → JobGaveUpError (BullMQ fails it now)
 *   retry   → the error itself (BullMQ retries with backoff, or fails it when attempts run out)
 */
export async function handleJobError(
  job: Job,
  token: string | undefined,
  error: unknown,
  fleet: FleetControl,
): Promise<Error> {
  return withoutInternals(await decideAndAct(job, token, error, fleet));
}

/**
 * What BullMQ keeps of a failure (and the board shows): the code and the reason. The stack of
 * our internals stays in the worker's log, not in Redis.
 */
function withoutInternals(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  error.stack = `${typeof code === 'string' ? code : error.name}: ${error.message}`;
  return error;
}

async function decideAndAct(
  job: Job,
  token: string | undefined,
  error: unknown,
  fleet: FleetControl,
): Promise<Error> {
  if (error instanceof DelayedError || error instanceof WaitingError || error instanceof JobGaveUpError) {
    return error;
  }
  let decision = decide(error);
  if (decision.action === 'wait' && job.attemptsStarted - job.attemptsMade > MAX_FREE_WAITS) {
    decision = { action: 'retry', code: decision.code, message: decision.message };
  }
  const log = fleet.logger.child({ jobId: job.id, queue: job.queueName, code: decision.code });
  if (decision.action === 'wait' && decision.unreachable) {
    const downForMs = await fleet.outage.unreachable();
    if (downForMs >= fleet.outagePauseAfterMs) {
      return backToWaiting(job, token, fleet, {
        reason: 'LMS_UNREACHABLE',
        message: `the LMS has not answered for ${Math.round(downForMs / 1000)} s (${decision.message})`,
        fix: UNREACHABLE_FIX,
      });
    }
  }
  switch (decision.action) {
    case 'pause':
      return backToWaiting(job, token, fleet, decision);
    case 'wait':
      if (!token) return asError(error, decision);
      log.debug({ delayMs: decision.delayMs }, `waiting without spending an attempt: ${decision.message}`);
      await job.moveToDelayed(Date.now() + decision.delayMs, token);
      return new DelayedError();
    case 'give-up':
      return new JobGaveUpError(decision.code, decision.message);
    case 'retry': {
      log.debug({ attempt: job.attemptsMade + 1 }, `attempt failed: ${decision.message}`);
      const delayMs = defaultRetryDelay(job);
      if (delayMs !== undefined && token) {
        await job.moveToDelayed(Date.now() + delayMs, token);
        return new DelayedError();
      }
      return asError(error, decision);
    }
  }
}

/**
 * A job added without retry options (a raw BullMQ producer's: BullMQ then fails it at the first
 * error) is retried as if it had its queue's: the delay of the next retry, or undefined when the
 * job has its own attempts or has used the queue's. Counted by starts, so its free waits count too.
 */
export function defaultRetryDelay(
  job: Pick<Job, 'opts' | 'queueName' | 'attemptsStarted'>,
): number | undefined {
  if ((job.opts.attempts ?? 1) > 1) return undefined;
  const defaults = QUEUE_JOB_OPTIONS[job.queueName];
  const attempts = defaults?.attempts ?? 1;
  if (job.attemptsStarted >= attempts) return undefined;
  const backoff = defaults?.backoff;
  const base = typeof backoff === 'object' ? (backoff.delay ?? 1_000) : (backoff ?? 1_000);
  const jitter = typeof backoff === 'object' ? (backoff.jitter ?? 0) : 0;
  const delay = base * 2 ** Math.max(0, job.attemptsStarted - 1);
  return Math.round(delay * (1 - jitter * Math.random()));
}

const QUEUE_JOB_OPTIONS: Record<string, JobsOptions | undefined> = {
  [DISCOVER_QUEUE]: DISCOVER_JOB_OPTIONS,
  [DOWNLOAD_QUEUE]: DOWNLOAD_JOB_OPTIONS,
};

/** Pause for a `pause` decision (or an outage): the fleet, or this worker alone (`fleet.trip`). */
export async function pauseFor(
  fleet: FleetControl,
  trip: Parameters<FleetBreaker['trip']>[0],
): Promise<void> {
  const pause = { reason: trip.reason, message: trip.message, fix: trip.fix };
  await (fleet.trip ? fleet.trip(pause) : fleet.breaker.trip(pause));
}

async function backToWaiting(
  job: Job,
  token: string | undefined,
  fleet: FleetControl,
  trip: Parameters<FleetBreaker['trip']>[0],
): Promise<Error> {
  await pauseFor(fleet, trip);
  if (!token) return new Error(trip.message);
  await job.moveToWait(token);
  return new WaitingError();
}

/** An Error carrying the decision's code as a field, for BullMQ's retry path. */
function asError(error: unknown, decision: { code: string; message: string }): Error {
  if (error instanceof Error) {
    if (!('code' in error) || typeof (error as { code?: unknown }).code !== 'string') {
      Object.assign(error, { code: decision.code });
    }
    return error;
  }
  return Object.assign(new Error(decision.message), { code: decision.code });
}
