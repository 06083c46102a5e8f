import type { CommandContext } from './context.ts';

/**
 * After a batch is queued: without `wait`, say how to follow it (exit 0); with it, show progress
 * until it ends and return its exit code. The progress display (log-update) loads only for --wait.
 */
export async function followBatch(
  ctx: Pick<CommandContext, 'tracker' | 'breaker' | 'queues'>,
  batchId: string,
  options: { wait?: boolean | undefined; timeoutSeconds?: number | undefined },
): Promise<number> {
  if (!options.wait) {
    console.log(`follow it with: certharvest status ${batchId}`);
    return 0;
  }
  const { waitForBatch } = await import('./wait-for-batch.ts');
  return waitForBatch(ctx, batchId, { timeoutSeconds: options.timeoutSeconds });
}
