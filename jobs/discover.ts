/**
 * What happens to one user reference: resolve it to a user id, page through the user's issued
 * awards, keep certificates (badges are counted and ignored), and queue one download per
 * certificate that is not already stored. A whole-institution batch first enumerates the users.
 * The processor returns what it found; `BatchAccounting` turns that into the batch's counts.
 */
import type { Processor, Queue } from 'bullmq';
import { certificateRef, sameLmsId, type Certificate, type LmsId } from '../src/certificate/index.ts';
import type { ListAwardsOptions, UserDirectory } from '../src/lms/index.ts';
import type { Logger } from '../src/log/index.ts';
import {
  BatchAccounting,
  discoverJobSchema,
  MAX_REJECTED_LISTED,
  type BatchFilters,
  type DiscoverJobData,
  type DiscoverResult,
  type DownloadJobData,
  type ManifestDescription,
  type RejectedAward,
} from '../src/queue/index.ts';
import { certificateKey, UnsafeIdError, type CertificateStore } from '../src/storage/index.ts';
import { handleJobError, type FleetControl } from '../src/worker/handle-job-error.ts';
import { parseJobData } from '../src/worker/parse-job-data.ts';
import { jobLog } from './job-logger.ts';

export interface DiscoverDeps {
  directory: UserDirectory;
  store: CertificateStore;
  accounting: BatchAccounting;
  discoverQueue: Queue<DiscoverJobData>;
  downloadQueue: Queue<DownloadJobData>;
  fleet: FleetControl;
  logger: Logger;
}

export function createDiscoverProcessor(deps: DiscoverDeps): Processor<DiscoverJobData, DiscoverResult> {
  return async (job, token) => {
    try {
      const data = parseJobData(discoverJobSchema, job.data, 'discover');
      const ref = data.kind === 'user' ? `${data.by} ${data.value}` : 'all users';
      // One summary line per job: discovery has no steps worth a Redis call each.
      const log = jobLog(job, deps.logger.child({ jobId: job.id, batchId: data.batchId, user: ref })).summary;
      return data.kind === 'all-users'
        ? await enumerateUsers(deps, data, String(job.id), log)
        : await discoverUser(deps, data, String(job.id), log);
    } catch (err) {
      throw await handleJobError(job, token, err, deps.fleet);
    }
  };
}

async function discoverUser(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'user' }>,
  jobId: string,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  // A plain user id needs no lookup: an unknown one is told by the awards listing itself (404 →
  // LMS_USER_NOT_FOUND), one Valence call per user saved. Anything else is resolved (and a
  // malformed id refused with the directory's message).
  const user: { userId: LmsId; userName?: string } =
    data.by === 'userId' && /^[1-9]\d{0,14}$/.test(data.value)
      ? { userId: Number(data.value) }
      : await deps.directory.resolveUser(data.by, data.value);
  const userId = user.userId;
  const userRef = `${data.by}:${data.value}`;
  const userName = user.userName ?? (data.by === 'userName' ? data.value : undefined);

  const certificates: Certificate[] = [];
  const rejected: RejectedAward[] = [];
  let rejectedCount = 0;
  let badges = 0;
  let filteredOut = 0;
  const reject = (ref: string, code: string, reason: string) => {
    rejectedCount++;
    if (rejected.length < MAX_REJECTED_LISTED) rejected.push({ ref, code, reason });
  };
  // Expired awards are a question for the listing (`includeExpired`), not a filter afterwards:
  // a listing that leaves them out never shows them to us.
  for await (const entry of deps.directory.listAwards(userId, listingOptions(data.filters))) {
    if (!entry.ok) reject(entry.ref, entry.code, entry.reason);
    else if (entry.kind !== 'certificate') badges++;
    else if (!passes(entry.certificate, data.filters)) filteredOut++;
    else certificates.push(entry.certificate);
  }

  const expected = (
    await Promise.all(
      certificates.map(async (certificate) => {
        let certKey: string;
        try {
          // An id that cannot name a file (too long once encoded) fails that certificate alone.
          deps.store.paths(certificate);
          certKey = certificateKey(deps.directory.host, certificate);
        } catch (err) {
          if (!(err instanceof UnsafeIdError)) throw err;
          reject(certificateRef(certificate), err.code, err.message);
          return [];
        }
        // A refresh fetches every certificate again: what is on disk is replaced when whole.
        const onDisk = data.refresh ? null : await deps.store.existing(certificate);
        return [
          {
            certificate,
            certKey,
            ref: certificateRef(certificate),
            alreadyStored: onDisk !== null,
            onDisk: onDisk ?? undefined,
            row: manifestDescription(certificate, userRef, userName),
          },
        ];
      }),
    )
  ).flat();
  const toAdd = await deps.accounting.expectCertificates(data.batchId, expected, jobId);
  await deps.downloadQueue.addBulk(
    toAdd.map(({ certificate: e, jobId }) => ({
      name: `${e.certificate.orgUnitId}-${e.certificate.issuedId}`,
      data: {
        ...e.certificate,
        batchId: data.batchId,
        certKey: e.certKey,
        userRef,
        ...(data.refresh ? { refresh: true } : {}),
      },
      opts: { jobId },
    })),
  );
  const alreadyStored = expected.filter((e) => e.alreadyStored).length;
  log(
    `user ${userId}: ${expected.length} certificate(s) (${toAdd.length} queued, ${alreadyStored} already stored), ` +
      `${badges} badge(s) ignored, ${filteredOut} filtered out, ${rejectedCount} unusable award(s)`,
  );
  return {
    userId,
    certificates: expected.length,
    queued: toAdd.length,
    alreadyStored,
    badgesIgnored: badges,
    filteredOut,
    rejected,
    rejectedCount,
  };
}

/** Users queued at once while enumerating, at most; and how long a partial chunk may wait. */
const ENUMERATION_CHUNK = 500;
const ENUMERATION_FLUSH_MS = 200;

async function enumerateUsers(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'all-users' }>,
  jobId: string,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  // Users are queued as the listing pages arrive, not after the last page: discovery (and the
  // downloads behind it) starts at once. Registering and adding again after a retry is a no-op.
  let users = 0;
  let pending: LmsId[] = [];
  let flushedAt = Date.now();
  const flush = async () => {
    if (pending.length === 0) return;
    const jobs = pending.map((id) => ({
      name: `userId:${id}`,
      data: {
        kind: 'user' as const,
        batchId: data.batchId,
        by: 'userId' as const,
        value: String(id),
        ...(data.filters ? { filters: data.filters } : {}),
        ...(data.refresh ? { refresh: true } : {}),
      },
      opts: { jobId: `${data.batchId}.userId.${Buffer.from(String(id)).toString('base64url')}` },
    }));
    pending = [];
    flushedAt = Date.now();
    const registered = await deps.accounting.registerDiscover(
      data.batchId,
      jobs.map((j) => j.opts.jobId),
      'user',
      jobId,
    );
    // A cancelled batch takes no more users: the enumeration runs out without queuing them.
    if (registered === 'cancelled') cancelled = true;
    else await deps.discoverQueue.addBulk(jobs);
  };
  let cancelled = false;
  for await (const id of deps.directory.listAllUserIds()) {
    if (cancelled) break;
    pending.push(id);
    users++;
    if (pending.length >= ENUMERATION_CHUNK || Date.now() - flushedAt >= ENUMERATION_FLUSH_MS) await flush();
  }
  await flush();
  log(
    cancelled
      ? `the batch was cancelled: enumeration stopped after ${users} user(s)`
      : `the institution has ${users} user(s): one discover job each`,
  );
  return {
    users,
    certificates: 0,
    queued: 0,
    alreadyStored: 0,
    badgesIgnored: 0,
    filteredOut: 0,
    rejected: [],
    rejectedCount: 0,
  };
}

/** Expired certificates are harvested unless the batch says `includeExpired: false`. */
function listingOptions(filters: BatchFilters | undefined): Required<ListAwardsOptions> {
  return { includeExpired: filters?.includeExpired ?? true };
}

function passes(certificate: Certificate, filters: BatchFilters | undefined): boolean {
  if (!filters) return true;
  if (filters.orgUnitIds && !filters.orgUnitIds.some((id) => sameLmsId(id, certificate.orgUnitId)))
    return false;
  const issued = certificate.issuedDate;
  if (filters.issuedAfter && (!issued || issued < new Date(filters.issuedAfter).toISOString())) return false;
  if (filters.issuedBefore && (!issued || issued >= new Date(filters.issuedBefore).toISOString()))
    return false;
  return true;
}

/** What the batch's manifest shows of a certificate besides its outcome. */
function manifestDescription(
  c: Certificate,
  userRef: string,
  userName: string | undefined,
): ManifestDescription {
  return {
    userRef,
    userId: c.userId,
    ...(userName !== undefined ? { userName } : {}),
    orgUnitId: c.orgUnitId,
    ...(c.orgUnitName !== undefined ? { orgUnitName: c.orgUnitName } : {}),
    issuedId: c.issuedId,
    title: c.title,
    issuedDate: c.issuedDate,
  };
}
