import type { z } from 'zod';
import { LmsDataError } from './errors.ts';

/**
 * Parse LMS JSON with a zod schema; the first problem becomes an LmsDataError naming the route
 * and the field path (`Objects[3].Award.AwardId`).
 */
export function parseLms<S extends z.ZodType>(
  schema: S,
  data: unknown,
  route: string,
  basePath = '',
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw toDataError(result.error, route, basePath);
}

export function toDataError(error: z.ZodError, route: string, basePath = ''): LmsDataError {
  const issue = error.issues[0];
  if (!issue) return new LmsDataError(route, basePath, 'invalid');
  return new LmsDataError(route, joinPath(basePath, issue.path), issue.message);
}

export function joinPath(basePath: string, path: readonly PropertyKey[]): string {
  let out = basePath;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}
