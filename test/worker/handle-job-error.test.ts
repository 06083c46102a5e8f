import { DelayedError, WaitingError } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { ReauthRequiredError } from '../../src/auth/index.ts';
import { CertificateHttpError } from '../../src/browser/index.ts';
import type { FleetBreaker, OutageClock } from '../../src/fleet/index.ts';
import { LmsUnavailableError, UserNotFoundError } from '../../src/lms/index.ts';
import {
  handleJobError,
  JobGaveUpError,
  MAX_FREE_WAITS,
  type FleetControl,
} from '../../src/failure/handle-job-error.ts';
import { captureLogger, fakeJob } from '../helpers/index.ts';

// A unit test of carrying out decisions: the job, breaker and outage clock are stand-ins.
function arrange(downForMs = 0, pauseAfterMs = 60_000) {
  const job = fakeJob({}, { moveToWait: vi.fn(async () => 0), moveToDelayed: vi.fn(async () => {}) });
  const trip = vi.fn(async () => true);
  const fleet: FleetControl = {
    breaker: { trip } as unknown as FleetBreaker,
    outage: { unreachable: vi.fn(async () => downForMs) } as unknown as OutageClock,
    outagePauseAfterMs: pauseAfterMs,
    logger: captureLogger().logger,
  };
  return { job, trip, fleet };
}

describe('handleJobError', () => {
  it('pauses the fleet and puts the job back to waiting, spending no attempt', async () => {
    const { job, trip, fleet } = arrange();
    const thrown = await handleJobError(job, 'lock', new ReauthRequiredError('invalid_grant', 'x'), fleet);
    expect(thrown).toBeInstanceOf(WaitingError);
    expect(trip).toHaveBeenCalledWith(expect.objectContaining({ reason: 'AUTH_REFRESH_REFUSED' }));
    expect(job.moveToWait).toHaveBeenCalledWith('lock');
  });

  it('delays a 429 by its Retry-After, spending no attempt', async () => {
    const { job, fleet } = arrange();
    const before = Date.now();
    const thrown = await handleJobError(job, 'lock', new CertificateHttpError(429, 'u', 2), fleet);
    expect(thrown).toBeInstanceOf(DelayedError);
    const [until] = vi.mocked(job.moveToDelayed).mock.calls[0]!;
    expect(until).toBeGreaterThanOrEqual(before + 2_000);
  });

  it('waits while the LMS is briefly unreachable, and pauses once the outage outlasts the limit', async () => {
    const brief = arrange(5_000, 60_000);
    expect(
      await handleJobError(brief.job, 'l', new LmsUnavailableError('ECONNREFUSED'), brief.fleet),
    ).toBeInstanceOf(DelayedError);
    expect(brief.trip).not.toHaveBeenCalled();
    const long = arrange(61_000, 60_000);
    expect(
      await handleJobError(long.job, 'l', new LmsUnavailableError('ECONNREFUSED'), long.fleet),
    ).toBeInstanceOf(WaitingError);
    expect(long.trip).toHaveBeenCalledWith(expect.objectContaining({ reason: 'LMS_UNREACHABLE' }));
  });

  it('spends an attempt once a job has waited too often (a request that always times out)', async () => {
    const { job, fleet } = arrange();
    Object.assign(job, { attemptsStarted: MAX_FREE_WAITS + 3, attemptsMade: 1 });
    const thrown = await handleJobError(job, 'l', new CertificateHttpError(429, 'u', 2), fleet);
    expect(thrown).toMatchObject({ code: 'CERTIFICATE_HTTP' });
    expect(job.moveToDelayed).not.toHaveBeenCalled();
  });

  it('gives up with the code as a field, and passes retryable errors on with theirs', async () => {
    const { job, fleet } = arrange();
    const gaveUp = await handleJobError(job, 'l', new UserNotFoundError('userId', '9'), fleet);
    expect(gaveUp).toBeInstanceOf(JobGaveUpError);
    expect(gaveUp).toMatchObject({ code: 'LMS_USER_NOT_FOUND' });
    const retried = await handleJobError(job, 'l', new TypeError('bug'), fleet);
    expect(retried).toMatchObject({ name: 'TypeError', code: 'UNEXPECTED' });
    expect(job.moveToDelayed).not.toHaveBeenCalled();
    expect(job.moveToWait).not.toHaveBeenCalled();
  });
});
