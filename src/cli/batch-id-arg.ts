import { UsageError } from '../errors/index.ts';
import { batchIdSchema } from '../queue/job-data.ts';

/** A batch id given on the command line, checked at the edge: a `UsageError` naming it when malformed. */
export function parseBatchIdArg(batchId: string, option = 'batch id'): string {
  if (!batchIdSchema.safeParse(batchId).success)
    throw new UsageError(
      `${option} "${batchId}" is not valid: expected 1-64 letters, digits, ".", "_" or "-"`,
    );
  return batchId;
}
