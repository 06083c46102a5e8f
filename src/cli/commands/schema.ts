import { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../errors/index.ts';
import {
  batchJsonSchema,
  DISCOVER_JOB_OPTIONS,
  DISCOVER_QUEUE,
  discoverJobSchema,
  DOWNLOAD_JOB_OPTIONS,
  DOWNLOAD_QUEUE,
  downloadJobSchema,
} from '../../queue/index.ts';

const SCHEMAS = {
  batch: () => batchJsonSchema(),
  discover: () => jobSchema(discoverJobSchema, DISCOVER_QUEUE, DISCOVER_JOB_OPTIONS),
  download: () => jobSchema(downloadJobSchema, DOWNLOAD_QUEUE, DOWNLOAD_JOB_OPTIONS),
} as const;
type SchemaName = keyof typeof SCHEMAS;

/** A job's data as JSON Schema, with the queue it goes to and the options the CLI adds it with. */
function jobSchema(schema: z.ZodType, queue: string, options: object): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>),
    'x-certharvest-queue': queue,
    'x-certharvest-job-options': options,
  };
}

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
    .action((which: string) => {
      if (which === 'all') {
        const all = Object.fromEntries(Object.entries(SCHEMAS).map(([name, make]) => [name, make()]));
        console.log(JSON.stringify(all, null, 2));
        return;
      }
      if (!(which in SCHEMAS)) {
        throw new UsageError(`unknown schema "${which}": expected batch, discover, download or all`);
      }
      console.log(JSON.stringify(SCHEMAS[which as SchemaName](), null, 2));
    });
}
