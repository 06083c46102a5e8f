/**
 * What a request to the API carries, checked once at the edge: the batch id in the path, the
 * query strings, the retry body, and that a body is JSON. Each failure is an `ApiError`.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { batchIdSchema } from '../../queue/index.ts';
import { ApiError } from './errors.ts';
import { CERTIFICATES_PAGE_MAX } from './options.ts';

const wholeNumber = (what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `expected a whole number (${what})`)
    .transform(Number);

export const failuresQuerySchema = z
  .object({
    format: z.enum(['json', 'csv'], { error: 'expected "json" or "csv"' }).default('json'),
    offset: wholeNumber('failures to skip').default(0),
    limit: wholeNumber('failures to return at most; default: all')
      .refine((n) => n >= 1, 'expected a whole number of at least 1')
      .optional(),
  })
  .strict();

export const certificatesQuerySchema = z
  .object({
    format: z.enum(['json', 'csv'], { error: 'expected "json" or "csv"' }).optional(),
    offset: wholeNumber('rows to skip').default(0),
    limit: wholeNumber(`rows to return at most, 1-${CERTIFICATES_PAGE_MAX}`)
      .refine(
        (n) => n >= 1 && n <= CERTIFICATES_PAGE_MAX,
        `expected a whole number from 1 to ${CERTIFICATES_PAGE_MAX}`,
      )
      .optional(),
  })
  .strict();

const retryBodySchema = z
  .object({ batchId: batchIdSchema.optional().describe("The new batch's id; generated when absent.") })
  .strict();

const problemsOf = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(query)'}: ${i.message}`);

/** The query string by `schema`, or 400 INVALID_QUERY with its problems. */
export function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const query = schema.safeParse(req.query);
  if (!query.success) {
    throw new ApiError(400, 'INVALID_QUERY', 'the query string is not valid', problemsOf(query.error));
  }
  return query.data;
}

/** The body of a retry (none, or `{"batchId"}`), or 422 RETRY_INVALID. */
export function parseRetryBody(body: unknown): z.output<typeof retryBodySchema> {
  const parsed = retryBodySchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new ApiError(
      422,
      'RETRY_INVALID',
      'the body is not valid; nothing was queued',
      problemsOf(parsed.error),
    );
  }
  return parsed.data;
}

/** The batch id in the path, or 400 INVALID_BATCH_ID. */
export function parseBatchId(raw: string | undefined): string {
  const parsed = batchIdSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError(
      400,
      'INVALID_BATCH_ID',
      'a batch id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return parsed.data;
}

/** A request whose body is not JSON is refused (415) with `how` to send it. */
export function requireJson(req: Request, how: string): void {
  if (!req.is('application/json')) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', how);
}

/** Whether the request has a body at all (a length above 0, or chunked). */
export function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}
