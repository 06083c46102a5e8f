import { PermanentError, ServiceUnavailableError, TransientError } from '../errors/index.ts';

/**
 * Errors of LMS API calls. Each has a stable `code` and `retryable`: whether the same call can
 * succeed later (a job should retry) or never will (the item fails, the rest goes on).
 */

/** The LMS is down, slow or failing (5xx, network error, timeout). */
export class LmsUnavailableError extends ServiceUnavailableError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('LMS_UNAVAILABLE', message, status, options);
  }
}

/**
 * The LMS kept answering 429 for longer than the client waits in place. A queue processor can
 * reschedule the job `retryAfterMs` later without spending an attempt.
 */
export class RateLimitedError extends TransientError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super('LMS_RATE_LIMITED', message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** LMS JSON did not have the expected shape. `route` and `path` say where. */
export class LmsDataError extends PermanentError {
  readonly route: string;
  /** Field path inside the body, e.g. `Objects[3].Award.AwardId`; empty for the whole body. */
  readonly path: string;

  constructor(route: string, path: string, detail: string) {
    super('LMS_DATA_INVALID', `${route}: unexpected data at ${path || '(body)'}: ${detail}`);
    this.route = route;
    this.path = path;
  }
}

export type UserReferenceKind = 'userId' | 'userName' | 'orgDefinedId';

/** No user matches the reference. */
export class UserNotFoundError extends PermanentError {
  readonly by: UserReferenceKind;
  readonly reference: string;

  constructor(by: UserReferenceKind, reference: string) {
    super('LMS_USER_NOT_FOUND', `no LMS user with ${by} ${JSON.stringify(reference)}`);
    this.by = by;
    this.reference = reference;
  }
}

/** Several users share an OrgDefinedId: refusing to guess which one is meant. */
export class AmbiguousUserError extends PermanentError {
  readonly userIds: readonly number[];

  constructor(by: UserReferenceKind, reference: string, userIds: readonly number[]) {
    super(
      'LMS_USER_AMBIGUOUS',
      `${userIds.length} LMS users have ${by} ${JSON.stringify(reference)} (UserIds ${userIds.join(', ')}); ` +
        'submit them by userId instead',
    );
    this.userIds = userIds;
  }
}

/** An id or name that cannot be a valid reference (e.g. path characters in an id); no request was sent. */
export class InvalidReferenceError extends PermanentError {
  constructor(message: string) {
    super('LMS_REFERENCE_INVALID', message);
  }
}

/** The LMS refused the call (403 permission or scope, 400, a persistent 401, ...). */
export class LmsRequestError extends PermanentError {
  readonly status: number;

  constructor(message: string, status: number, code = 'LMS_REQUEST_REJECTED') {
    super(code, message);
    this.status = status;
  }
}

/** The LMS supports none of the API versions this client knows. */
export class LmsVersionUnsupportedError extends PermanentError {
  constructor(message: string) {
    super('LMS_VERSION_UNSUPPORTED', message);
  }
}
