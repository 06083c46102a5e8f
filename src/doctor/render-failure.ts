import {
  CertificateForbiddenError,
  CertificateHttpError,
  LoginFailedError,
  OffHostRedirectError,
  PdfTooLargeError,
  SessionExpiredError,
  SessionRequestError,
} from '../browser/index.ts';
import { InvalidPdfError } from '../pdf/index.ts';
import { failureOf, rule, type CheckOutcome, type FailureRule } from './check.ts';
import { SECOND_LOGIN } from './web-login-check.ts';

/**
 * The session the doctor had just logged in answered as logged out: its own gate refused a second
 * login, or the page said "expired".
 */
export function answeredLoggedOut(err: unknown): boolean {
  return (err instanceof LoginFailedError && err.code === SECOND_LOGIN) || err instanceof SessionExpiredError;
}

/** What a certificate's download with the doctor's web session failed of, and its likely fix. */
export function renderFailure(err: unknown, path: string, landingPath: string): CheckOutcome {
  return failureOf(err, [
    rule(
      InvalidPdfError,
      'run the doctor again; if bodies keep arriving cut, look at the proxies and time limits ' +
        'between this machine and the LMS (the workers retry such downloads)',
      { found: (e) => `${path}: ${e.message}` },
    ),
    rule(
      Error,
      `check that LMS_LOGIN_LANDING (${landingPath}) is a page only a logged-in user gets: ` +
        'the doctor and the workers test sessions on it',
      {
        when: answeredLoggedOut,
        found: () => `${path} answered as logged out to the session the doctor had just logged in`,
      },
    ),
    ...SESSION_FAILURES,
  ]);
}

const SESSION_FAILURES: readonly FailureRule[] = [
  rule(
    CertificateForbiddenError,
    "give the service user's role the permission to see certificates issued to others, " +
      'or probe another one with --user / --issued-id',
  ),
  rule(CertificateHttpError, (e) =>
    e.status === 429 || e.status === 503
      ? 'the LMS throttles renders right now: run the doctor again in a minute (workers wait as told)'
      : 'run the doctor again; if it persists, open the render URL as the service user in a browser',
  ),
  rule(
    OffHostRedirectError,
    'the LMS sends certificates to another host, which certharvest never follows with its cookies: ' +
      'ask the LMS administrators where certificates are served from',
  ),
  rule(PdfTooLargeError, 'raise MAX_PDF_BYTES if certificates this large are real'),
  rule(
    SessionRequestError,
    'run the doctor again; if bodies keep breaking off, look at the proxies and time limits ' +
      'between this machine and the LMS',
  ),
];
