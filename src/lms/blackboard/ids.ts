import { z } from 'zod';
import { idNumber } from './url-template.ts';

/**
 * Learn's primary ids travel as the LMS gives them: `_123_1`, `_123_4` (another data partition), a
 * UUID. They end up in URLs and file names, so only a safe alphabet passes — letters, digits, `_`
 * and `-`, at most 100 characters — and anything else (path characters, spaces, markup) is refused
 * for that item (LMS_DATA_INVALID). `{…Id}` placeholders use their number: N of `_N_1` (idNumber).
 */
const LEARN_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** The id itself when it is a safe Learn id; undefined for anything else. */
export function parseLearnId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const text = id.trim();
  return LEARN_ID.test(text) && /[A-Za-z0-9]/.test(text) ? text : undefined;
}

/** N for `_N_1` (or a number given as such); undefined for anything else. */
export function fromLearnId(id: unknown): number | undefined {
  return typeof id === 'string' || typeof id === 'number' ? idNumber(id) : undefined;
}

/** A Learn primary id from what a batch or a job holds: `_N_1` for a positive whole number N, a Learn id as is. */
export function toLearnId(id: number | string): string {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new TypeError(`a Learn primary id needs a positive whole number, got ${String(id)}`);
    }
    return `_${id}_1`;
  }
  const parsed = parseLearnId(id);
  if (parsed === undefined) throw new TypeError(`${shown(id)} is not a Learn primary id`);
  return parsed;
}

const shown = (input: unknown) => {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** A Learn primary id in JSON, as the string Learn gave. */
export const learnId = z.unknown().transform((raw, ctx) => {
  const id = parseLearnId(raw);
  if (id === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: raw,
      message:
        raw === undefined
          ? 'expected a Learn id, but the field is missing'
          : `expected a Learn id (letters, digits, _ and -, such as _123_1 or a UUID), got ${shown(raw)}`,
    });
    return z.NEVER;
  }
  return id;
});
