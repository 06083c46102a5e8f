import type { LmsDataError } from '../errors.ts';

/** A Learn user, reduced to what certharvest uses. */
export interface LearnUser {
  /** The primary id as Learn gives it (`_123_1`, `_123_4`, a UUID): certharvest's userId. */
  userId: string;
  /** The same primary id (Learn's field name). */
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
  userId: string;
  /** The course's primary id as Learn gives it: certharvest's orgUnitId. */
  orgUnitId: string;
  courseRoleId: string | null;
  available: string | null;
  /**
   * The course's name, when the listing carried the course (`expand=course`) and it named this
   * membership's course; absent otherwise.
   */
  orgUnitName?: string;
}

/** A course (`courses/{courseId}`). */
export interface LearnCourse {
  /** The course's primary id (`_123_1`, a UUID…). */
  orgUnitId: string;
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
