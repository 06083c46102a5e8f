import { z } from 'zod';
import { learnId } from './ids.ts';

/**
 * Zod schemas for the Learn REST JSON this client reads. Objects are loose (Learn adds fields
 * over time); ids are strings of a safe alphabet, as Learn gives them (see ids.ts).
 */

const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

const availability = z
  .looseObject({ available: z.string().nullish() })
  .nullish()
  .transform((v) => v?.available ?? null);

export const learnUserSchema = z.looseObject({
  id: learnId,
  uuid: optionalText,
  externalId: optionalText,
  userName: z.string().min(1),
  name: z
    .looseObject({ given: optionalText, family: optionalText })
    .nullish()
    .transform((v) => ({ given: v?.given ?? null, family: v?.family ?? null })),
  availability,
});

/** The most characters a certificate's org unit name holds (`certificateSchema`). */
const MAX_NAME_LENGTH = 1000;

/**
 * A course name fit for a manifest row: control characters as spaces, trimmed, lone surrogates
 * replaced, cut to MAX_NAME_LENGTH with an ellipsis; null when nothing is left.
 */
function courseName(value: string | null | undefined): string | null {
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

/**
 * The course a membership carries when the listing is asked for it (`expand=course`). Read
 * leniently: a missing or odd object only leaves the course's name unknown, never the membership
 * unusable.
 */
const expandedCourse = z
  .looseObject({ id: z.string().nullish(), name: z.string().nullish().transform(courseName) })
  .nullish()
  .catch(null)
  .transform((c) => (c ? { id: c.id ?? null, name: c.name ?? null } : null));

export const membershipSchema = z.looseObject({
  userId: learnId,
  courseId: learnId,
  courseRoleId: optionalText,
  availability,
  course: expandedCourse,
});

export const courseSchema = z.looseObject({
  id: learnId,
  courseId: optionalText,
  name: optionalText,
});

/** A page of a Learn collection: `results`, and `paging.nextPage` unless it is the last one. */
export const pageSchema = z.looseObject({
  results: z.array(z.unknown()),
  paging: z
    .looseObject({ nextPage: z.string().nullish() })
    .nullish()
    .transform((v) => v?.nextPage ?? null),
});

/** Learn's RestException; every field optional (a proxy in front of Learn may answer anything). */
export const restExceptionSchema = z.looseObject({
  status: z.union([z.number(), z.string()]).nullish(),
  code: z.union([z.string(), z.number()]).nullish(),
  message: z.string().nullish(),
  developerMessage: z.string().nullish(),
  extraInfo: z.string().nullish(),
});

/** Learn's OAuth-style error body (`{"error":"invalid_client",...}`), seen on the token route. */
export const oauthErrorSchema = z.looseObject({
  error: z.string(),
  error_description: z.string().nullish(),
});
