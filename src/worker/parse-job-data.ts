import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';

/** Parse job data at the edge; data that does not fit can never succeed, so it fails at once. */
export function parseJobData<S extends z.ZodType>(schema: S, data: unknown, queue: string): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
  throw new UnrecoverableError(`[JOB_DATA_INVALID] malformed ${queue} job data: ${problems}`);
}
