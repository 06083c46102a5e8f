import type { z } from 'zod';
import { CertharvestError } from '../errors/index.ts';

/** Job data that does not fit its schema: it can never succeed, so the job fails at once. */
export class JobDataInvalidError extends CertharvestError {
  readonly retryable = false;

  constructor(queue: string, problems: string) {
    super('JOB_DATA_INVALID', `malformed ${queue} job data: ${problems}`);
  }
}

/** Parse job data at the edge, into the type the processor trusts. */
export function parseJobData<S extends z.ZodType>(schema: S, data: unknown, queue: string): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
  throw new JobDataInvalidError(queue, problems.slice(0, 500));
}
