import { z } from 'zod';
import { orgUnitNameOf } from '../parse.ts';
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

/**
 * The course a membership carries when the listing is asked for it (`expand=course`). Read
 * leniently: a missing or odd object only leaves the course's name unknown, never the membership
 * unusable.
 */
const expandedCourse = z
  .looseObject({ id: z.string().nullish(), name: z.string().nullish().transform(orgUnitNameOf) })
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
