/**
 * One user, inside a discover job: resolve the reference to a user id, page through the user's
 * issued awards, keep certificates (badges are counted and ignored), count each certificate once
 * for the batch, and download those this job opened (`JobDownloads`). Shared by the one-user job
 * and the users job (jobs/discover.ts); errors are thrown as they are, for the job to decide.
 */
import { certificateRef, sameLmsId, type Certificate, type LmsId } from '../src/certificate/index.ts';
import type { ListAwardsOptions, UserDirectory } from '../src/lms/index.ts';
import {
  MAX_REJECTED_LISTED,
  type BatchAccounting,
  type BatchFilters,
  type ExpectedCertificate,
  type ManifestDescription,
  type RejectedAward,
  type UserRefKind,
} from '../src/queue/index.ts';
import { certificateKey, UnsafeIdError, type CertificateStore } from '../src/storage/index.ts';
import type { Logger } from '../src/log/index.ts';
import type { InJobDownloads, JobDownloads } from './discover-downloads.ts';

/** What discovering a user needs. */
export interface UserDiscoveryDeps {
  directory: UserDirectory;
  store: CertificateStore;
  accounting: BatchAccounting;
  logger: Logger;
  /**
   * Admits one user's listing (resolving the user, paging the awards): DISCOVER_CONCURRENCY at a
   * time per worker, while more jobs run to keep the download slots full. Default: no limit.
   */
  listingSlots?: <T>(listing: () => Promise<T>) => Promise<T>;
}

/** A user of a batch, as the batch names them, with the batch's filters. */
export interface UserToList {
  batchId: string;
  by: UserRefKind;
  value: string;
  filters?: BatchFilters | undefined;
  refresh?: boolean | undefined;
}

/** What came of one user in this job. */
export interface UserDiscovery extends InJobDownloads {
  userId: LmsId;
  /** Certificates found (those that passed the filters and can name a file). */
  certificates: number;
  /** Downloads this job opened for them. */
  queued: number;
  /** Already stored: found by discovery, or when downloading (each counted once). */
  alreadyStored: number;
  badges: number;
  filteredOut: number;
  rejects: Rejects;
}

/** Awards that cannot be used: all counted, the first MAX_REJECTED_LISTED listed. */
export class Rejects {
  readonly listed: RejectedAward[] = [];
  count = 0;
  add(ref: string, code: string, reason: string): void {
    this.count++;
    if (this.listed.length < MAX_REJECTED_LISTED) this.listed.push({ ref, code, reason });
  }
}

/** The user was not listed: `notNow()` said so when its listing's turn came (the fleet paused). */
export class ListingSkipped extends Error {
  constructor() {
    super('not listed: the fleet paused before its turn');
  }
}

/**
 * What a job with several users says about one user's listing, inside its listing slot (before
 * the next listing takes the slot): whether to skip it, and hearing of its failure at once.
 */
export interface ListingTurn {
  /** Asked when the listing's turn comes: true throws `ListingSkipped`, without a request. */
  notNow?: () => boolean;
  failed?: (err: unknown) => void;
}

/** A certificate the batch expects, and the certificate itself (its download's data). */
type ExpectedDownload = ExpectedCertificate & { certificate: Certificate };

/** List `user` and download what this job opens for the batch (see the module comment). */
export async function discoverUser(
  deps: UserDiscoveryDeps,
  user: UserToList,
  downloads: JobDownloads,
  /** The discover job: the opener of the downloads (a run after a dead worker finds its own). */
  jobId: string,
  turn: ListingTurn = {},
): Promise<UserDiscovery> {
  const rejects = new Rejects();
  const list = async () => {
    if (turn.notNow?.()) throw new ListingSkipped();
    try {
      const found = await resolveUser(deps.directory, user);
      return { found, listing: await listUserAwards(deps.directory, found.userId, user.filters, rejects) };
    } catch (err) {
      turn.failed?.(err);
      throw err;
    }
  };
  const { found, listing } = await (deps.listingSlots ? deps.listingSlots(list) : list());
  const userRef = `${user.by}:${user.value}`;
  const userName = found.userName ?? (user.by === 'userName' ? user.value : undefined);
  const row = { userRef, userName };
  const expected = (
    await Promise.all(listing.certificates.map((c) => expectCertificate(deps, user, c, row, rejects)))
  ).flat();
  const waitedFor = await deps.accounting.expectCertificates(user.batchId, expected, jobId);
  // This job downloads what it opened; a download another job has in flight settles this batch too.
  const open = waitedFor.filter((d) => d.owned);
  const done = await downloads.run(
    open.map(({ certificate: e, jobId: id }) => ({
      certificate: e.certificate,
      certKey: e.certKey,
      jobId: id,
      // Looked for in the store by discovery just now (unless the batch refreshes everything).
      checkedAbsent: !e.alreadyStored && user.refresh !== true,
    })),
    { batchId: user.batchId, userRef, refresh: user.refresh === true, logger: deps.logger },
  );
  return {
    ...done,
    userId: found.userId,
    certificates: expected.length,
    queued: open.length,
    alreadyStored:
      expected.filter((e) => e.alreadyStored).length +
      done.alreadyStored -
      open.filter((o) => o.certificate.alreadyStored).length,
    badges: listing.badges,
    filteredOut: listing.filteredOut,
    rejects,
  };
}

/**
 * A plain user id needs no lookup: an unknown one is told by the awards listing itself (404 →
 * LMS_USER_NOT_FOUND), one call per user saved. Anything else is resolved (and a malformed id
 * refused with the directory's message).
 */
async function resolveUser(
  directory: UserDirectory,
  user: UserToList,
): Promise<{ userId: LmsId; userName?: string }> {
  return user.by === 'userId' && /^[1-9]\d{0,14}$/.test(user.value)
    ? { userId: Number(user.value) }
    : await directory.resolveUser(user.by, user.value);
}

/** What one user's listing gave: the certificates kept, and what was left out. */
interface UserListing {
  certificates: Certificate[];
  badges: number;
  filteredOut: number;
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
  deps: UserDiscoveryDeps,
  user: UserToList,
  certificate: Certificate,
  row: { userRef: string; userName: string | undefined },
  rejects: Rejects,
): Promise<ExpectedDownload[]> {
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
  const onDisk = user.refresh ? null : await deps.store.existing(certificate);
  return [
    {
      certificate,
      certKey,
      ref: certificateRef(certificate),
      alreadyStored: onDisk !== null,
      onDisk: onDisk ?? undefined,
      row: manifestDescription(certificate, row.userRef, row.userName),
    },
  ];
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
