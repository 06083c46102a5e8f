/**
 * What the batch webhook says of an ended batch: the body (`batchWebhookBody`) and where its
 * manifest file is, once a worker has written it.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMA_VERSION } from '../certificate/index.ts';
import type { BatchWebhookBody, FinalBatchState } from '../library/verify-webhook.ts';
import { isFinal, type BatchStatus } from '../queue/index.ts';
import { manifestFileName } from '../report/manifest-file.ts';

/** `/api/batches/<id>/certificates?format=csv`: the manifest on the board's batch API. */
export const certificatesUrl = (batchId: string): string =>
  `/api/batches/${encodeURIComponent(batchId)}/certificates?format=csv`;

/**
 * The body announcing an ended batch: its state as the queue decided it (`status.state`, never
 * decided again here), its counts, and where its manifest is. `file` is the manifest file under
 * OUTPUT_DIR, or null when there is none (BATCH_MANIFEST=false, or it could not be written).
 */
export function batchWebhookBody(
  status: BatchStatus & { state: FinalBatchState },
  facts: { finishedAt?: string | undefined; file: string | null },
): BatchWebhookBody {
  return {
    schemaVersion: SCHEMA_VERSION,
    event: 'batch.done',
    batchId: status.batchId,
    finishedAt: status.finishedAt ?? facts.finishedAt ?? new Date().toISOString(),
    state: status.state,
    retryOf: status.retryOf ?? null,
    usersTotal: status.usersTotal,
    usersFailed: status.usersFailed,
    usersCancelled: status.usersCancelled,
    certsFound: status.certsFound,
    certsStored: status.certsStored,
    certsAlreadyStored: status.certsAlreadyStored,
    certsFailed: status.certsFailed,
    certsCancelled: status.certsCancelled,
    certificates: { url: certificatesUrl(status.batchId), file: facts.file },
  };
}

export const isFinalStatus = (s: BatchStatus): s is BatchStatus & { state: FinalBatchState } =>
  isFinal(s.state);

/**
 * `_batches/<id>.csv` once it is on disk under `outputDir` (it appears whole, by rename), waiting
 * for it up to `waitMs` (default 10 000 ms: a worker writes it as the batch ends) while
 * `keepWaiting()` holds; else null.
 */
export async function awaitManifestFile(
  batchId: string,
  where: { outputDir: string; waitMs?: number },
  keepWaiting: () => boolean,
): Promise<string | null> {
  let name: string;
  try {
    name = manifestFileName(batchId);
  } catch {
    return null;
  }
  const file = path.join(where.outputDir, ...name.split('/'));
  const deadline = Date.now() + (where.waitMs ?? 10_000);
  for (;;) {
    const there = await access(file).then(
      () => true,
      () => false,
    );
    if (there) return name;
    if (Date.now() >= deadline || !keepWaiting()) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}
