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

/** The most characters a certificate's org unit name holds (`certificateSchema`). */
const MAX_NAME_LENGTH = 1000;

/**
 * An org unit's (course's) name as an LMS gave it, fit for a manifest row: control characters as
 * spaces, trimmed, lone surrogates replaced, cut to MAX_NAME_LENGTH with an ellipsis; null when
 * nothing is left.
 */
export function orgUnitNameOf(value: string | null | undefined): string | null {
  // eslint-disable-next-line no-control-regex
  let text = (value ?? '').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  text = text.replace(/\p{Cs}/gu, '\ufffd');
  if (text.length > MAX_NAME_LENGTH) {
    let cut = text.slice(0, MAX_NAME_LENGTH - 1);
    if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
    text = `${cut.trimEnd()}…`;
  }
  return text === '' ? null : text;
}
