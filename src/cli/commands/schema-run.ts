/** What `certharvest schema` does, loaded when it runs (its help: schema.ts). */
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

export function run(which: string): void {
  if (which === 'all') {
    const all = Object.fromEntries(Object.entries(SCHEMAS).map(([name, make]) => [name, make()]));
    console.log(JSON.stringify(all, null, 2));
    return;
  }
  if (!(which in SCHEMAS)) {
    throw new UsageError(`unknown schema "${which}": expected batch, discover, download or all`);
  }
  console.log(JSON.stringify(SCHEMAS[which as SchemaName](), null, 2));
}
