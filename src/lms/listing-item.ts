import type { z } from 'zod';
import { InvalidReferenceError, type LmsDataError } from './errors.ts';
import { toDataError } from './parse.ts';

/** One object of a listing, parsed on its own: a hostile one fails alone, the rest are used. */
export type ParsedItem<T> = { ok: true; value: T } | { ok: false; error: LmsDataError; raw: unknown };

export function parseItem<S extends z.ZodType, T>(
  schema: S,
  raw: unknown,
  route: string,
  path: string,
  convert: (parsed: z.output<S>) => T,
): ParsedItem<T> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: convert(result.data) };
  return { ok: false, error: toDataError(result.error, route, path), raw };
}

const MAX_REFERENCE_LENGTH = 256;

/** A name from a batch (a userName, an orgDefinedId): 1–256 printable characters, trimmed. */
export function checkedText(value: string, what: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (!text || text.length > MAX_REFERENCE_LENGTH || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new InvalidReferenceError(
      `${what} ${JSON.stringify(value)} is not valid: expected 1–${MAX_REFERENCE_LENGTH} printable characters`,
    );
  }
  return text;
}
