import { LmsDataError, LmsRequestError, LmsUnavailableError, RateLimitedError } from '../lms/errors.ts';
import { failureOf, rule, type CheckOutcome, type FailureRule } from './check.ts';

/** The likely fixes of an LMS call's failures, in the words of one LMS. */
export interface LmsCallFixes {
  /** The token was refused even fresh (LMS_UNAUTHORIZED; with `unauthorizedStatus`, any 401). */
  unauthorized: string;
  unauthorizedStatus?: boolean;
  /** A 403. */
  forbidden: string;
  /** A 404. */
  notFound: string;
  /** Rate limited (429, or a quota spent). */
  throttled: string;
  /** No answer, or a broken one. */
  unreachable: string;
  /** JSON of another shape than the LMS's. */
  otherShape: string;
}

/**
 * What an LMS call's failure means, and its likely fix; another request error fails without a
 * fix, and anything else is thrown again (the runner reports it as unexpected).
 */
export function lmsCallFailure(err: unknown, fixes: LmsCallFixes): CheckOutcome {
  return failureOf(err, [...requestRules(fixes), ...answerRules(fixes)]);
}

function requestRules(fixes: LmsCallFixes): FailureRule[] {
  const unauthorized = (e: LmsRequestError) =>
    e.code === 'LMS_UNAUTHORIZED' || (fixes.unauthorizedStatus === true && e.status === 401);
  return [
    rule(LmsRequestError, fixes.unauthorized, { when: unauthorized }),
    rule(LmsRequestError, fixes.forbidden, { when: (e) => e.status === 403 }),
    rule(LmsRequestError, fixes.notFound, { when: (e) => e.status === 404 }),
    rule(LmsRequestError, undefined),
  ];
}

function answerRules(fixes: LmsCallFixes): FailureRule[] {
  return [
    rule(RateLimitedError, fixes.throttled),
    rule(LmsUnavailableError, fixes.unreachable),
    rule(LmsDataError, fixes.otherShape),
  ];
}
