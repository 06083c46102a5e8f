import { z } from 'zod';
import { orgUnitNameOf } from '../parse.ts';

/**
 * Zod schemas for the Valence JSON this client reads. Objects are loose (Brightspace adds
 * fields over time); the fields we use are checked strictly. Ids are positive integers in
 * Brightspace: a number or a string of digits is accepted; anything else (0, a negative, a
 * fraction, beyond 2^53, a path) is refused, and in a listing that refuses the one item alone.
 */

const shown = (input: unknown) => {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** A positive safe integer from a number or a digit string without a leading zero, else undefined. */
const toPositiveId = (input: unknown): number | undefined => {
  const n =
    typeof input === 'number'
      ? input
      : typeof input === 'string' && /^[1-9]\d{0,15}$/.test(input)
        ? Number(input)
        : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

export const brightspaceId = z.unknown().transform((input, ctx) => {
  const id = toPositiveId(input);
  if (id !== undefined) return id;
  ctx.issues.push({
    code: 'custom',
    input,
    message:
      input === undefined
        ? 'expected a positive integer id, but the field is missing'
        : `expected a positive integer id (1 to 2^53-1), got ${shown(input)}`,
  });
  return z.NEVER;
});

/**
 * A Valence UTC date. Brightspace's awards service writes `U2026-05-13T20:01:00.827` (a `U`
 * prefix, no zone): that is UTC. A date without a zone is read as UTC too.
 */
export const brightspaceDate = z.string().transform((raw, ctx) => {
  let text = raw.trim();
  if (/^U\d/.test(text)) text = text.slice(1);
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += 'Z';
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) {
    ctx.issues.push({ code: 'custom', input: raw, message: `expected a UTC date, got ${shown(raw)}` });
    return z.NEVER;
  }
  return new Date(ms);
});

const text = z.string();
const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

/** `AWARD_T`: "You can use either the type name or the value". */
export type AwardKind = 'badge' | 'certificate' | 'other';

export const awardType = z.union([z.number(), z.string()]).transform((value): AwardKind => {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (v === 2 || v === '2' || v === 'certificate') return 'certificate';
  if (v === 1 || v === '1' || v === 'badge') return 'badge';
  return 'other';
});

export const versionsSchema = z.array(
  z.looseObject({
    ProductCode: text,
    LatestVersion: text,
    SupportedVersions: z.array(text).nullish(),
  }),
);

export const whoAmISchema = z.looseObject({
  Identifier: brightspaceId,
  FirstName: optionalText,
  LastName: optionalText,
  UniqueName: optionalText,
});

export const userDataSchema = z.looseObject({
  UserId: brightspaceId,
  UserName: text,
  OrgDefinedId: optionalText,
  FirstName: optionalText,
  LastName: optionalText,
  DisplayName: optionalText,
  ExternalEmail: optionalText,
  Activation: z.looseObject({ IsActive: z.boolean() }).nullish(),
});

export const pagedResultSetSchema = z.looseObject({
  PagingInfo: z.looseObject({
    Bookmark: z.string().nullish(),
    HasMoreItems: z.boolean(),
  }),
  Items: z.array(z.unknown()),
});

export const objectListPageSchema = z.looseObject({
  Next: z.string().nullish(),
  Objects: z.array(z.unknown()),
});

export const issuedAwardSchema = z.looseObject({
  IssuedId: brightspaceId,
  OrgUnitId: brightspaceId,
  IssuedDate: brightspaceDate.nullish(),
  ExpiryDate: brightspaceDate.nullish(),
  Award: z.looseObject({
    AwardId: brightspaceId,
    AwardType: awardType,
    Title: text,
  }),
});

/**
 * `OrgUnit.OrgUnit` (`lp` `orgstructure/(orgUnitId)`): `{ Identifier, Name, Code, Type }`. Only
 * the name is used; a name that is missing or not text is no name, not an error.
 */
export const orgUnitSchema = z.looseObject({
  Identifier: brightspaceId,
  Name: z.string().nullish().catch(null).transform(orgUnitNameOf),
});
