/** What `certharvest cancel` does, loaded when it runs (its help: cancel.ts). */
import { cancelBatch, type CancelResult } from '../../queue/index.ts';
import { parseBatchIdArg } from '../batch-id-arg.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';

export async function run(batchId: string): Promise<void> {
  parseBatchIdArg(batchId);
  const ctx = await openContext();
  try {
    const result = await cancelBatch(batchId, {
      queues: ctx.queues,
      redis: ctx.redis,
      prefix: ctx.config.queuePrefix,
    });
    console.log(describeCancel(result));
    process.exitCode = result.outcome === 'already-ended' ? EXIT.SOME_FAILED : EXIT.OK;
  } finally {
    await ctx.close();
  }
}

/** What a cancel did, and how to follow the batch from here. */
export function describeCancel(r: CancelResult): string {
  const id = r.batchId;
  if (r.outcome === 'already-ended') {
    return `batch ${id} had already ended (${r.status.state}): nothing to cancel.\n  see it: certharvest status ${id}`;
  }
  const lines = [
    r.outcome === 'cancelled'
      ? `cancelled batch ${id}.`
      : `batch ${id} was already cancelled${r.status.cancelledAt ? ` (at ${r.status.cancelledAt})` : ''}` +
        `${r.usersRemoved + r.downloadsRemoved > 0 ? '; removed what was queued for it since' : ''}.`,
    `  users removed from the queue:       ${r.usersRemoved}`,
    `  downloads removed from the queue:   ${r.downloadsRemoved}`,
    `  downloads left to other batches:    ${r.downloadsLeftToOthers}${r.downloadsLeftToOthers ? ' (they still run for those batches)' : ''}`,
    `  jobs still running:                 ${r.stillRunning}${r.stillRunning ? ' (they finish; the batch ends when they have)' : ''}`,
    `  state:                              ${r.status.state}`,
  ];
  lines.push(
    r.status.state === 'cancelling'
      ? `follow it until it is cancelled: certharvest status ${id}`
      : `see what it did: certharvest status ${id} (--certificates lists every certificate)`,
  );
  return lines.join('\n');
}
