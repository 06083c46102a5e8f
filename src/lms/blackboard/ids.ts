import { z } from 'zod';

/**
 * Learn primary ids (`_123_1`) ⇄ certharvest's positive integers (they name files on disk, see
 * src/certificate/index.ts). Only `_<N>_1` maps, with N a positive whole number written without
 * leading zeros (so two Learn ids can never land on the same N); another suffix, a zero, a sign,
 * anything else is refused for that item (LMS_DATA_INVALID).
 */
const LEARN_ID = /^_([1-9]\d{0,14})_1$/;

/** N for `_N_1`; undefined for anything else. */
export function fromLearnId(id: unknown): number | undefined {
  if (typeof id !== 'string') return undefined;
  const match = LEARN_ID.exec(id);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `_N_1` for a positive integer N. */
export function toLearnId(n: number): string {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new TypeError(`a Learn primary id needs a positive whole number, got ${String(n)}`);
  }
  return `_${n}_1`;
}

const shown = (input: unknown) => {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** A Learn primary id in JSON, as its integer N. */
export const learnId = z.unknown().transform((raw, ctx) => {
  const n = fromLearnId(raw);
  if (n === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: raw,
      message:
        raw === undefined
          ? 'expected a Learn id (_N_1), but the field is missing'
          : `expected a Learn id of the form _N_1, got ${shown(raw)}`,
    });
    return z.NEVER;
  }
  return n;
});
