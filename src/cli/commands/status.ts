import { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { batchIdSchema } from '../../queue/index.ts';
import { progressLine, summary } from '../batch-report.ts';
import { openContext } from '../context.ts';
import { describePause } from '../pause-report.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('[batchId]', 'the batch to show; default: the recent batches')
    .description('progress and failures of one batch, or of the recent batches')
    .option('--json', 'print JSON instead of text')
    .option('--limit <n>', 'how many recent batches to list', '20')
    .action(async (batchId: string | undefined, opts: { json?: boolean; limit: string }) => {
      if (batchId !== undefined && !batchIdSchema.safeParse(batchId).success) {
        throw new UsageError(
          `batch id "${batchId}" is not valid: expected 1-64 letters, digits, ".", "_" or "-"`,
        );
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit: expected a whole number ≥ 1, got "${opts.limit}"`);
      const ctx = await openContext();
      try {
        const pause = await ctx.breaker.current();
        if (pause && !opts.json) console.log(`${describePause(pause)}\n`);
        if (batchId) {
          const status = await ctx.tracker.status(batchId, 1000);
          if (!status) throw new UsageError(`no batch "${batchId}" (batches are kept 30 days)`);
          console.log(
            opts.json ? JSON.stringify({ ...status, fleetPause: pause }, null, 2) : summary(status),
          );
          return;
        }
        const recent = await ctx.tracker.recent(limit);
        if (opts.json) console.log(JSON.stringify({ fleetPause: pause, batches: recent }, null, 2));
        else if (recent.length === 0) console.log('no batches yet');
        else
          for (const s of recent)
            console.log(`${s.done ? 'done   ' : 'running'}  ${s.createdAt}  ${progressLine(s)}`);
      } finally {
        await ctx.close();
      }
    });
}
