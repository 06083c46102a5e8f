/**
 * The discover processor: what happens to the users of a batch. A users job (what a batch
 * queues: up to USERS_PER_DISCOVER_JOB users) lists each of its users and downloads the
 * certificates it finds (jobs/discover-user.ts); a one-user job does the same for one user (a
 * raw producer's, or a user handed off by its users job to be tried again); an all-users job
 * enumerates the institution into users jobs (jobs/enumerate-users.ts).
 *
 * A users job decides each user as the failure policy decides a job: done, failed for good (an
 * unknown user), or handed to a one-user job of its own when it may succeed later (the LMS busy
 * or unreachable, a refused token: then the fleet pauses and the users not started are handed off
 * without a request). It settles its users itself, in one script, and returns what it did.
 */
import type { Processor, Queue } from 'bullmq';
import { decide } from '../src/failure/failure-policy.ts';
import { handleJobError, pauseFor, type FleetControl } from '../src/failure/handle-job-error.ts';
import { parseJobData } from '../src/failure/parse-job-data.ts';
import {
  addHandoffs,
  discoverJobSchema,
  MAX_REJECTED_LISTED,
  userJobId,
  type DiscoverJobData,
  type DiscoverResult,
  type DownloadJobData,
  type RejectedAward,
  type UserOutcome,
} from '../src/queue/index.ts';
import { JobDownloads, type InJobDownloadDeps } from './discover-downloads.ts';
import { discoverUser, ListingSkipped, type UserDiscovery, type UserDiscoveryDeps } from './discover-user.ts';
import { enumerateUsers } from './enumerate-users.ts';
import { jobLog } from './job-logger.ts';

export interface DiscoverDeps extends InJobDownloadDeps, UserDiscoveryDeps {
  discoverQueue: Queue<DiscoverJobData>;
  downloadQueue: Queue<DownloadJobData>;
  fleet: FleetControl;
}

export function createDiscoverProcessor(deps: DiscoverDeps): Processor<DiscoverJobData, DiscoverResult> {
  return async (job, token) => {
    try {
      const data = parseJobData(discoverJobSchema, job.data, 'discover');
      const ref =
        data.kind === 'user'
          ? `${data.by} ${data.value}`
          : data.kind === 'users'
            ? `${data.values.length} users (${data.by})`
            : 'all users';
      // One summary line per job: discovery has no steps worth a Redis call each.
      const log = jobLog(job, deps.logger.child({ jobId: job.id, batchId: data.batchId, user: ref })).summary;
      const jobId = String(job.id);
      if (data.kind === 'all-users') return await enumerateUsers(deps, data, jobId, log);
      if (data.kind === 'users') return await discoverUsers(deps, data, jobId, log);
      return await discoverOneUser(deps, data, jobId, log);
    } catch (err) {
      throw await handleJobError(job, token, err, deps.fleet);
    }
  };
}

/** One user: its errors are the job's (the job retries, waits or fails as the policy says). */
async function discoverOneUser(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'user' }>,
  jobId: string,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  const downloads = new JobDownloads(deps);
  const user = await discoverUser(deps, data, downloads, jobId);
  await downloads.finish();
  log(`user ${user.userId}: ${describe(user)}`);
  return {
    ...totals([user], downloads.failures),
    userId: user.userId,
    rejected: user.rejects.listed,
    rejectedCount: user.rejects.count,
  };
}

/** Several users: each decided alone (see the module comment), all settled in one script. */
async function discoverUsers(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'users' }>,
  jobId: string,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  const downloads = new JobDownloads(deps);
  const found: UserDiscovery[] = [];
  let paused = false;
  let pausedFleet = false;
  const outcomes = await Promise.all(
    data.values.map(async (value): Promise<UserOutcome> => {
      const handoff = { status: 'handoff' as const, value, jobId: userJobId(data.batchId, data.by, value) };
      const turn = {
        notNow: () => paused || downloads.paused,
        // Heard in the listing's slot: the next listing is skipped, not sent.
        failed: (err: unknown) => (paused ||= decide(err).action === 'pause'),
      };
      try {
        const user = await discoverUser(deps, { ...data, value }, downloads, jobId, turn);
        found.push(user);
        const { listed: rejected, count: rejectedCount } = user.rejects;
        return { status: 'done', value, badges: user.badges, rejected, rejectedCount };
      } catch (err) {
        if (err instanceof ListingSkipped) return handoff;
        const decision = decide(err);
        if (decision.action === 'give-up')
          return { status: 'failed', value, code: decision.code, reason: decision.message };
        if (decision.action === 'pause' && !pausedFleet) {
          pausedFleet = true;
          await pauseFor(deps.fleet, decision);
        }
        deps.logger.debug({ jobId, user: `${data.by} ${value}`, code: decision.code }, 'handed off');
        return handoff;
      }
    }),
  );
  await downloads.finish();
  const settled = await deps.accounting.settleUsers(jobId, data.batchId, data.by, outcomes);
  await addHandoffs(deps.discoverQueue, data, settled.handoffs);
  const failed = outcomes.filter((o) => o.status === 'failed');
  log(
    `${data.values.length} user(s): ${found.length} listed, ${failed.length} failed, ` +
      `${settled.handoffs.length} handed to jobs of their own; ${describe(sum(found))}`,
  );
  return {
    ...totals(found, downloads.failures),
    users: data.values.length,
    usersFailed: failed.map((o) => ({ ref: `${data.by} ${o.value}`, code: o.code, reason: o.reason })),
    usersHandedOff: settled.handoffs.length,
    rejected: found.flatMap((u) => u.rejects.listed).slice(0, MAX_REJECTED_LISTED),
    rejectedCount: found.reduce((n, u) => n + u.rejects.count, 0),
  };
}

/** What a discover job's return value says of its users' certificates. */
function totals(users: readonly UserDiscovery[], failures: RejectedAward[]) {
  const s = sum(users);
  return {
    certificates: s.certificates,
    queued: s.queued,
    stored: s.stored,
    failed: s.failed,
    ...(failures.length > 0 ? { failures } : {}),
    handedOff: s.handedOff,
    alreadyStored: s.alreadyStored,
    badgesIgnored: s.badges,
    filteredOut: s.filteredOut,
  };
}

type Counts = Omit<UserDiscovery, 'userId' | 'rejects'> & { rejected: number };

function sum(users: readonly UserDiscovery[]): Counts {
  const s: Counts = {
    certificates: 0,
    queued: 0,
    stored: 0,
    alreadyStored: 0,
    failed: 0,
    handedOff: 0,
    badges: 0,
    filteredOut: 0,
    rejected: 0,
  };
  for (const u of users) {
    for (const k of Object.keys(s) as (keyof Counts)[]) s[k] += k === 'rejected' ? u.rejects.count : u[k];
  }
  return s;
}

function describe(u: Counts | UserDiscovery): string {
  const rejected = 'rejects' in u ? u.rejects.count : u.rejected;
  return (
    `${u.certificates} certificate(s): ${u.stored} stored, ${u.alreadyStored} already stored, ` +
    `${u.failed} failed, ${u.handedOff} handed to download jobs; ` +
    `${u.badges} badge(s) ignored, ${u.filteredOut} filtered out, ${rejected} unusable award(s)`
  );
}
