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
  type ExpectedCertificate,
  type ManifestDescription,
  type RejectedAward,
} from '../src/queue/index.ts';
import { certificateKey, UnsafeIdError, type CertificateStore } from '../src/storage/index.ts';
import { handleJobError, type FleetControl } from '../src/failure/handle-job-error.ts';
import { parseJobData } from '../src/failure/parse-job-data.ts';
import { downloadInJob, type InJobDownloadDeps } from './discover-downloads.ts';
import { jobLog } from './job-logger.ts';

export interface DiscoverDeps extends InJobDownloadDeps {
  /**
   * Admits one user's listing (resolving the user, paging the awards): DISCOVER_CONCURRENCY at a
   * time per worker, while more jobs run to keep the download slots full. Default: no limit.
   */
  listingSlots?: <T>(listing: () => Promise<T>) => Promise<T>;
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
      const jobId = String(job.id);
      return data.kind === 'all-users'
        ? await enumerateUsers({ deps, data, jobId, log })
        : await discoverUser({ deps, data, jobId, log });
    } catch (err) {
      throw await handleJobError(job, token, err, deps.fleet);
    }
  };
}

/** One discover job of `kind`: its dependencies, its parsed data, its id and its summary line. */
interface DiscoverRun<K extends DiscoverJobData['kind']> {
  deps: DiscoverDeps;
  data: Extract<DiscoverJobData, { kind: K }>;
  jobId: string;
  log: (line: string) => void;
}

/** Awards that cannot be used: all counted, the first MAX_REJECTED_LISTED listed. */
class Rejects {
  readonly listed: RejectedAward[] = [];
  count = 0;
  add(ref: string, code: string, reason: string): void {
    this.count++;
    if (this.listed.length < MAX_REJECTED_LISTED) this.listed.push({ ref, code, reason });
  }
}

/** What one user's listing gave: the certificates kept, and what was left out. */
interface UserListing {
  certificates: Certificate[];
  badges: number;
  filteredOut: number;
}

/** A certificate the batch expects, and the certificate itself (its download job's data). */
type ExpectedDownload = ExpectedCertificate & { certificate: Certificate };

async function discoverUser(run: DiscoverRun<'user'>): Promise<DiscoverResult> {
  const { deps, data } = run;
  const rejects = new Rejects();
  const list = async () => {
    const user = await resolveUser(deps.directory, data);
    return { user, listing: await listUserAwards(deps.directory, user.userId, data.filters, rejects) };
  };
  const { user, listing } = await (deps.listingSlots ? deps.listingSlots(list) : list());
  const userRef = `${data.by}:${data.value}`;
  const userName = user.userName ?? (data.by === 'userName' ? data.value : undefined);
  const expected = (
    await Promise.all(
      listing.certificates.map((c) => expectCertificate(run, c, { userRef, userName }, rejects)),
    )
  ).flat();
  const waitedFor = await deps.accounting.expectCertificates(data.batchId, expected, run.jobId);
  // This job downloads what it opened; a download another job has in flight settles this batch too.
  const open = waitedFor.filter((d) => d.owned);
  const done = await downloadInJob(
    deps,
    open.map(({ certificate: e, jobId }) => ({
      certificate: e.certificate,
      certKey: e.certKey,
      jobId,
      // Looked for in the store by discovery just now (unless the batch refreshes everything).
      checkedAbsent: !e.alreadyStored && data.refresh !== true,
    })),
    { batchId: data.batchId, userRef, refresh: data.refresh === true, logger: deps.logger },
  );
  // Found stored by discovery, and found stored when downloading (counted once each).
  const alreadyStored =
    expected.filter((e) => e.alreadyStored).length +
    done.alreadyStored -
    open.filter((o) => o.certificate.alreadyStored).length;
  run.log(
    `user ${user.userId}: ${expected.length} certificate(s): ${done.stored} stored, ${alreadyStored} already stored, ` +
      `${done.failed} failed, ${done.handedOff} handed to download jobs; ` +
      `${listing.badges} badge(s) ignored, ${listing.filteredOut} filtered out, ${rejects.count} unusable award(s)`,
  );
  return {
    userId: user.userId,
    certificates: expected.length,
    queued: open.length,
    stored: done.stored,
    failed: done.failed,
    ...(done.failures.length > 0 ? { failures: done.failures } : {}),
    handedOff: done.handedOff,
    alreadyStored,
    badgesIgnored: listing.badges,
    filteredOut: listing.filteredOut,
    rejected: rejects.listed,
    rejectedCount: rejects.count,
  };
}

/**
 * A plain user id needs no lookup: an unknown one is told by the awards listing itself (404 →
 * LMS_USER_NOT_FOUND), one Valence call per user saved. Anything else is resolved (and a
 * malformed id refused with the directory's message).
 */
async function resolveUser(
  directory: UserDirectory,
  data: Extract<DiscoverJobData, { kind: 'user' }>,
): Promise<{ userId: LmsId; userName?: string }> {
  return data.by === 'userId' && /^[1-9]\d{0,14}$/.test(data.value)
    ? { userId: Number(data.value) }
    : await directory.resolveUser(data.by, data.value);
}

/** Page through the user's awards: certificates that pass the filters are kept, badges counted. */
async function listUserAwards(
  directory: UserDirectory,
  userId: LmsId,
  filters: BatchFilters | undefined,
  rejects: Rejects,
): Promise<UserListing> {
  const listing: UserListing = { certificates: [], badges: 0, filteredOut: 0 };
  // Expired awards are a question for the listing (`includeExpired`), not a filter afterwards:
  // a listing that leaves them out never shows them to us.
  for await (const entry of directory.listAwards(userId, listingOptions(filters))) {
    if (!entry.ok) rejects.add(entry.ref, entry.code, entry.reason);
    else if (entry.kind !== 'certificate') listing.badges++;
    else if (!passes(entry.certificate, filters)) listing.filteredOut++;
    else listing.certificates.push(entry.certificate);
  }
  return listing;
}

/** The certificate as the batch expects it (none when its id cannot name a file). */
async function expectCertificate(
  run: DiscoverRun<'user'>,
  certificate: Certificate,
  user: { userRef: string; userName: string | undefined },
  rejects: Rejects,
): Promise<ExpectedDownload[]> {
  const { deps, data } = run;
  let certKey: string;
  try {
    // An id that cannot name a file (too long once encoded) fails that certificate alone.
    deps.store.paths(certificate);
    certKey = certificateKey(deps.directory.host, certificate);
  } catch (err) {
    if (!(err instanceof UnsafeIdError)) throw err;
    rejects.add(certificateRef(certificate), err.code, err.message);
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
      row: manifestDescription(certificate, user.userRef, user.userName),
    },
  ];
}

/** Users queued at once while enumerating, at most; and how long a partial chunk may wait. */
const ENUMERATION_CHUNK = 500;
const ENUMERATION_FLUSH_MS = 200;

async function enumerateUsers(run: DiscoverRun<'all-users'>): Promise<DiscoverResult> {
  const { deps, data, jobId, log } = run;
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
