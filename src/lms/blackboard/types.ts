import type { LmsDataError } from '../errors.ts';

/** A Learn user, reduced to what certharvest uses. */
export interface LearnUser {
  /** N of the primary id `_N_1`: certharvest's userId. */
  userId: number;
  /** The primary id itself, `_N_1`. */
  id: string;
  uuid: string | null;
  externalId: string | null;
  userName: string;
  givenName: string | null;
  familyName: string | null;
  /** `availability.available`: "Yes", "No", "Disabled", or null when absent. */
  available: string | null;
}

/** A course membership of a user (`users/{userId}/courses`). */
export interface LearnMembership {
  userId: number;
  /** N of the course's primary id `_N_1`: certharvest's orgUnitId. */
  orgUnitId: number;
  courseRoleId: string | null;
  available: string | null;
}

/** A course (`courses/{courseId}`). */
export interface LearnCourse {
  orgUnitId: number;
  /** The course's own code (`courseId`, e.g. "C6606"), not the primary id. */
  courseCode: string | null;
  name: string | null;
}

/** How a batch names a user; the Learn id form each becomes is in `learnUserKey`. */
export type LearnUserReference =
  | { by: 'userId'; value: number | string }
  | { by: 'userName'; value: string }
  | { by: 'orgDefinedId'; value: string };

/**
 * One item of a listing: parsed, or refused with the reason and the raw JSON, so one bad object
 * fails only itself and the good ones on the same page still arrive.
 */
export type LearnItem<T> = { ok: true; value: T } | { ok: false; error: LmsDataError; raw: unknown };

/** What the LMS last said about the app's REST quota (`X-Rate-Limit-*`). */
export interface LearnQuota {
  limit: number | undefined;
  remaining: number | undefined;
  /** When the window resets (epoch ms), from `X-Rate-Limit-Reset` (seconds from then). */
  resetAt: number | undefined;
}
