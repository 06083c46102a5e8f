import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
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
    case 'retry':
      log.debug({ attempt: job.attemptsMade + 1 }, `attempt failed: ${decision.message}`);
      return asError(error, decision);
  }
}

async function backToWaiting(
  job: Job,
  token: string | undefined,
  fleet: FleetControl,
  trip: Parameters<FleetBreaker['trip']>[0],
): Promise<Error> {
  await fleet.breaker.trip({ reason: trip.reason, message: trip.message, fix: trip.fix });
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
