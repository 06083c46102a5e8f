import { Command } from 'commander';

export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .argument('[which]', `batch (default), discover, download or all`, 'batch')
    .description('print JSON Schemas: a batch submission, and the jobs on the queues (for other languages)')
    .addHelpText(
      'after',
      `
A batch is best submitted over the HTTP API (docs/api.md) or with the Node
library. The job schemas are for producers that add BullMQ jobs themselves:
each carries the queue (x-certharvest-queue) and the options the CLI adds its
jobs with (x-certharvest-job-options). Jobs added without retry or cleanup
options get the queue's from the workers.

Examples:
  certharvest schema > batch.schema.json
  certharvest schema discover
  certharvest schema all | jq 'keys'`,
    )
    .action(async (which: string) => {
      const { run } = await import('./schema-run.ts');
      run(which);
    });
}
