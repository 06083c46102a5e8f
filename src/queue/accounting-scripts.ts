/**
 * The batch accounting's Lua scripts (`src/queue/lua/`), loaded once at start. Each step of the
 * accounting is one script, so two batches that find the same certificate at the same moment can
 * never miss each other's download. Every script takes ARGV: prefix, ttl, then what is listed here;
 * its one declared key (`accountingSlotKey`) only routes it to the prefix's slot on a Redis Cluster.
 */
import { z } from 'zod';
import { SCHEMA_VERSION } from '../certificate/index.ts';
import { LuaScript } from '../util/lua-script.ts';
import { BATCH_EVENTS_MAX_LEN, BATCH_EVENTS_SUFFIX } from './batch-keys.ts';

/** A script of `src/queue/lua/`, with the shared helpers and the constants it names. */
const accountingScript = (name: string): LuaScript =>
  LuaScript.fromFile(new URL(`./lua/${name}.lua`, import.meta.url), {
    constants: { BATCH_EVENTS_SUFFIX, BATCH_EVENTS_MAX_LEN, SCHEMA_VERSION },
  });

/**
 * batchId, now, kind ('user' | 'enumeration'), opener, jobId... → how many were new; -1 when the
 * batch is cancelled (nothing registered: add none of them).
 */
export const REGISTER_DISCOVER = accountingScript('register-discover');

/**
 * batchId, now, opener, by, K, jobIdBase, user values... → pairs (users job id, JSON list of its
 * users) of the jobs to add: new ones (K users each, the users the batch did not have), and open
 * ones holding users listed again; -1 when the batch is cancelled (nothing registered).
 */
export const REGISTER_USERS = accountingScript('register-users');

/**
 * jobId, batchId, by, at, now, then groups of 5 (status, value, three fields by status; see the
 * script): all of the job's users (the job closes), or some (it closes with its last) → {1
 * settled (-1: the job was closed before), the batch this finished or '', pairs (value, one-user
 * job id) of the users handed off}.
 */
export const SETTLE_USERS = accountingScript('settle-users');

/**
 * batchId, now, opener (the discover job), then groups of 6: certKey, jobIdBase, ref,
 * alreadyStored, the result record when already stored, the manifest description (JSON text).
 * Returns triples (index of the certificate, download job id, '1' when the opener owns it: it
 * opened it now or in an earlier run) of the downloads the batch waits for: new ones, and open ones
 * it joined (another job downloads those). A cancelled batch counts what it finds as cancelled,
 * opens none.
 */
export const EXPECT_CERTIFICATES = accountingScript('expect-certificates');

/**
 * at, then groups of 5: jobId, status, code, reason, result record → {batches credited (-1: none
 * of the jobs was open), batches this finished...}. Each batch is checked for its end once.
 */
export const SETTLE_DOWNLOAD = accountingScript('settle-download');

/**
 * jobId, status, code, reason, at, userRef, badges, rejectedCount, then groups of 3 (ref, code,
 * reason) listing some of the awards the LMS sent that cannot become downloads → {users ended (a
 * users job's that it still held; 1 for one user or an enumeration; -1 not open), the batch when
 * this finished it}.
 */
export const SETTLE_DISCOVER = accountingScript('settle-discover');

/** batchId, at → {0, the batch when it is done now} (a batch with no job left). */
export const FINISH_IF_DONE = accountingScript('finish-if-done');

/**
 * batchId, at → 1 marked cancelled now, 0 already cancelled, -1 no such batch, -2 already done
 * (nothing to cancel).
 */
export const MARK_CANCELLED = accountingScript('mark-cancelled');

/**
 * batchId, jobId... (open download jobs) → the jobs that wait for this batch alone, to remove from
 * the queue (no other batch can join them any more). A job other batches wait for too stays: this
 * batch leaves it, and counts its certificate as cancelled.
 */
export const DETACH_DOWNLOADS = accountingScript('detach-downloads');

/**
 * An open job's entry (`<prefix>:acct:<discover|download>`, by job id), as the scripts write it:
 * the batch that opened it (`b`; absent once it left, or in an older record), `j` when other batches
 * joined it (they are in `acct:waiting:<jobId>`), its opener job (`o`) and when it was opened (`t`).
 */
export const openJobSchema = z.object({
  b: z.string().optional(),
  j: z.number().optional(),
  o: z.string().optional(),
  t: z.number().optional(),
});

/** An open job's entry, or null when it is not one. */
export function parseOpenJob(json: string): z.infer<typeof openJobSchema> | null {
  try {
    const read = openJobSchema.safeParse(JSON.parse(json));
    return read.success ? read.data : null;
  } catch {
    return null;
  }
}
