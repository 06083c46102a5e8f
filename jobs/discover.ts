/**
 * What happens to one user reference: resolve it to a user id, page through the user's issued
 * awards, keep certificates (badges are counted and ignored), and queue one download per
 * certificate that is not already on disk. A whole-institution batch first enumerates the users.
 */
import type { Processor, Queue } from 'bullmq';
import type { Logger } from '../src/log/index.ts';
import {
  BatchTracker,
  certificateKey,
  discoverJobSchema,
  type BatchFilters,
  type DiscoverJobData,
  type DiscoverResult,
  type DownloadJobData,
} from '../src/queue/index.ts';
import type { CertificateStore } from '../src/storage/index.ts';
import { handleJobFailure } from '../src/worker/failure.ts';
import { parseJobData } from '../src/worker/parse-job-data.ts';
import type { IssuedAwardFacts, UserDirectory } from '../src/worker/ports.ts';
import { jobLogger } from './download.ts';

export interface DiscoverDeps {
  directory: UserDirectory;
  store: CertificateStore;
  tracker: BatchTracker;
  discoverQueue: Queue<DiscoverJobData>;
  downloadQueue: Queue<DownloadJobData>;
  logger: Logger;
}

export function createDiscoverProcessor(deps: DiscoverDeps): Processor<DiscoverJobData, DiscoverResult> {
  return async (job, token) => {
    const data = parseJobData(discoverJobSchema, job.data, 'discover');
    const ref = data.kind === 'user' ? `${data.by} ${data.value}` : 'all users';
    const log = jobLogger(job, deps.logger.child({ jobId: job.id, batchId: data.batchId, user: ref }));
    try {
      return data.kind === 'all-users'
        ? await enumerateUsers(deps, data, log)
        : await discoverUser(deps, data, log);
    } catch (err) {
      throw await handleJobFailure(job, token, err, {
        onFinal: async (f) => {
          if (data.kind === 'user') await deps.tracker.userFailed(data.batchId, ref, f.code, f.message);
          else
            await deps.tracker.userFailed(
              data.batchId,
              ref,
              f.code,
              `enumerating users failed: ${f.message}`,
            );
          if (data.kind === 'all-users') await deps.tracker.enumerationDone(data.batchId);
        },
      });
    }
  };
}

async function discoverUser(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'user' }>,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  const { userId } = await deps.directory.resolveUser(data.by, data.value);
  log(`resolved ${data.by} ${data.value} to user ${userId}`);

  const certificates: IssuedAwardFacts[] = [];
  const rejected: { ref: string; code: string; reason: string }[] = [];
  let badges = 0;
  let filteredOut = 0;
  for await (const entry of deps.directory.listAwards(userId)) {
    if (!entry.ok) rejected.push(entry);
    else if (entry.award.kind !== 'certificate') badges++;
    else if (!passes(entry.award, data.filters)) filteredOut++;
    else certificates.push(entry.award);
  }
  log(
    `found ${certificates.length} certificate(s), ${badges} badge(s) ignored, ${rejected.length} unusable award(s)`,
  );

  const toQueue: DownloadJobData[] = [];
  let alreadyPresent = 0;
  for (const award of certificates) {
    const ids = { userId, orgUnitId: award.orgUnitId, issuedId: award.issuedId };
    if (await deps.store.existing(ids)) {
      alreadyPresent++;
      continue;
    }
    const certKey = certificateKey(deps.directory.host, award.orgUnitId, award.issuedId);
    toQueue.push({
      batchId: data.batchId,
      certKey,
      ...ids,
      awardId: award.awardId,
      title: award.title,
      issuedDate: award.issuedDate,
      userRef: `${data.by}:${data.value}`,
    });
  }
  // Register as waiting before queueing, so a download that finishes at once still credits us.
  for (const d of toQueue) await deps.tracker.awaitCertificate(data.batchId, d.certKey);
  await deps.downloadQueue.addBulk(
    toQueue.map((d) => ({
      name: `${d.orgUnitId}-${d.issuedId}`,
      data: d,
      // In-flight deduplication: the same certificate from two batches is downloaded once.
      opts: { deduplication: { id: d.certKey } },
    })),
  );
  for (const r of rejected) await deps.tracker.certificateRejected(data.batchId, r.ref, r.code, r.reason);
  await deps.tracker.userDiscovered(data.batchId, {
    certificates: toQueue.length + alreadyPresent,
    alreadyPresent,
    badges,
  });
  log(`queued ${toQueue.length} download(s); ${alreadyPresent} already stored`);
  return {
    userId,
    certificates: certificates.length,
    queued: toQueue.length,
    alreadyPresent,
    badgesIgnored: badges,
    filteredOut,
    invalidAwards: rejected.length,
  };
}

async function enumerateUsers(
  deps: DiscoverDeps,
  data: Extract<DiscoverJobData, { kind: 'all-users' }>,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  const ids: number[] = [];
  for await (const id of deps.directory.listAllUserIds()) ids.push(id);
  log(`the institution has ${ids.length} user(s)`);
  const jobs = ids.map((id) => ({
    name: `userId:${id}`,
    data: {
      kind: 'user' as const,
      batchId: data.batchId,
      by: 'userId' as const,
      value: String(id),
      ...(data.filters ? { filters: data.filters } : {}),
    },
    opts: { jobId: `${data.batchId}.userId.${Buffer.from(String(id)).toString('base64url')}` },
  }));
  for (let i = 0; i < jobs.length; i += 1000) await deps.discoverQueue.addBulk(jobs.slice(i, i + 1000));
  await deps.tracker.addUsers(data.batchId, ids.length);
  await deps.tracker.enumerationDone(data.batchId);
  return {
    users: ids.length,
    certificates: 0,
    queued: 0,
    alreadyPresent: 0,
    badgesIgnored: 0,
    filteredOut: 0,
    invalidAwards: 0,
  };
}

function passes(award: IssuedAwardFacts, filters: BatchFilters | undefined): boolean {
  if (!filters) return true;
  if (filters.orgUnitIds && !filters.orgUnitIds.includes(award.orgUnitId)) return false;
  if (
    filters.issuedAfter &&
    (!award.issuedDate || award.issuedDate < new Date(filters.issuedAfter).toISOString())
  )
    return false;
  if (
    filters.issuedBefore &&
    (!award.issuedDate || award.issuedDate >= new Date(filters.issuedBefore).toISOString())
  )
    return false;
  return true;
}
