import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import {
  AuthLockTimeoutError,
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
} from '../../src/auth/index.ts';
import {
  BrowserFailedError,
  BrowserLaunchError,
  CertificateHttpError,
  LoginFailedError,
  SessionExpiredError,
} from '../../src/browser/index.ts';
import {
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  RateLimitedError,
  UserNotFoundError,
} from '../../src/lms/index.ts';
import { InvalidPdfError } from '../../src/pdf/index.ts';
import { OutputUnavailableError, UnsafeIdError } from '../../src/storage/index.ts';
import { ApiRouteMissingError } from '../../src/failure/api-support.ts';
import { decide, UNREACHABLE_RETRY_MS } from '../../src/failure/failure-policy.ts';
import { JobDataInvalidError } from '../../src/failure/parse-job-data.ts';

const url = 'https://lms.example/d2l/awards/v1/1/certificate/render/2';

// One row per error type the processors can meet: what the fleet does about it.
const TABLE: [string, unknown, Record<string, unknown>][] = [
  [
    'refused refresh token',
    new ReauthRequiredError('invalid_grant', 'refused'),
    { action: 'pause', reason: 'AUTH_REFRESH_REFUSED' },
  ],
  [
    'refused client',
    new TokenRequestRejectedError(401, 'invalid_client', 'no'),
    { action: 'pause', reason: 'AUTH_CLIENT_REJECTED' },
  ],
  [
    'store sealed with another key',
    new SealedBoxError('bad tag'),
    { action: 'pause', reason: 'SECRETS_KEY_MISMATCH' },
  ],
  ['unreadable store', new TokenStoreError('x', false), { action: 'pause', reason: 'SECRETS_KEY_MISMATCH' }],
  [
    'Redis hiccup on the store',
    new TokenStoreError('x', true),
    { action: 'retry', code: 'AUTH_STORE_UNAVAILABLE' },
  ],
  [
    'refused web login',
    new LoginFailedError('loginFailed.d2l'),
    { action: 'pause', reason: 'LOGIN_REFUSED' },
  ],
  [
    'no browser',
    new BrowserLaunchError('/bin/false', 'exited'),
    { action: 'pause', reason: 'BROWSER_UNAVAILABLE' },
  ],
  [
    'disk full',
    new OutputUnavailableError('ENOSPC', '/out', '/out/1/2-3.pdf'),
    { action: 'pause', reason: 'OUTPUT_UNAVAILABLE', code: 'OUTPUT_FULL' },
  ],
  [
    'read-only output',
    new OutputUnavailableError('EROFS', '/out', '/out/1'),
    { action: 'pause', reason: 'OUTPUT_UNAVAILABLE', code: 'OUTPUT_UNWRITABLE' },
  ],
  ['api strategy, no api', new ApiRouteMissingError(), { action: 'pause', reason: 'API_ROUTE_MISSING' }],
  [
    '429 from the API',
    new RateLimitedError('slow down', 7_000),
    { action: 'wait', delayMs: 7_000, unreachable: false },
  ],
  [
    '429 + Retry-After on render',
    new CertificateHttpError(429, url, 3),
    { action: 'wait', delayMs: 3_000, unreachable: false },
  ],
  ['503 + Retry-After on render', new CertificateHttpError(503, url, 0), { action: 'wait', delayMs: 1_000 }],
  ['503 without Retry-After', new CertificateHttpError(503, url), { action: 'retry' }],
  ['404 on render', new CertificateHttpError(404, url), { action: 'give-up', code: 'CERTIFICATE_NOT_FOUND' }],
  [
    'LMS unreachable',
    new LmsUnavailableError('ECONNREFUSED'),
    { action: 'wait', delayMs: UNREACHABLE_RETRY_MS, unreachable: true },
  ],
  ['LMS 502', new LmsUnavailableError('bad gateway', 502), { action: 'retry', code: 'LMS_UNAVAILABLE' }],
  [
    '401 even with fresh tokens',
    new LmsRequestError('401', 401, 'LMS_UNAUTHORIZED'),
    { action: 'pause', reason: 'API_ACCESS_REFUSED' },
  ],
  ['403 on a user', new LmsRequestError('403', 403), { action: 'give-up', code: 'LMS_REQUEST_REJECTED' }],
  [
    'token endpoint unreachable',
    new TokenEndpointUnavailableError('ECONNRESET'),
    { action: 'wait', unreachable: true },
  ],
  ['token endpoint 503', new TokenEndpointUnavailableError('down', 503), { action: 'retry' }],
  ['lock busy', new AuthLockTimeoutError('busy'), { action: 'retry', code: 'AUTH_LOCK_TIMEOUT' }],
  ['session expired', new SessionExpiredError('login page'), { action: 'retry', code: 'SESSION_EXPIRED' }],
  ['browser crashed', new BrowserFailedError('target closed'), { action: 'retry', code: 'BROWSER_FAILED' }],
  ['truncated PDF', new InvalidPdfError('no-eof-trailer', 'cut'), { action: 'retry', code: 'PDF_INVALID' }],
  ['unknown user', new UserNotFoundError('userId', '9'), { action: 'give-up', code: 'LMS_USER_NOT_FOUND' }],
  ['hostile id', new UnsafeIdError('orgUnitId', '../x'), { action: 'give-up', code: 'ID_UNSAFE' }],
  [
    'bad LMS data',
    new LmsDataError('GET /x', 'Objects[0]', 'bad'),
    { action: 'give-up', code: 'LMS_DATA_INVALID' },
  ],
  [
    'malformed job data',
    new JobDataInvalidError('download', 'issuedId: bad'),
    { action: 'give-up', code: 'JOB_DATA_INVALID' },
  ],
  [
    'BullMQ unrecoverable',
    new UnrecoverableError('job stalled more than allowable limit'),
    { action: 'give-up' },
  ],
  ['a bug', new TypeError('x is undefined'), { action: 'retry', code: 'UNEXPECTED' }],
  ['a thrown string', 'oops', { action: 'retry', code: 'UNEXPECTED', message: 'oops' }],
];

describe('the failure policy', () => {
  it.each(TABLE)('%s', (_name, error, expected) => {
    expect(decide(error)).toMatchObject(expected);
  });

  it('names the fix of every fleet-wide pause', () => {
    for (const [, error] of TABLE) {
      const d = decide(error);
      if (d.action === 'pause') expect(d.fix.length).toBeGreaterThan(20);
    }
  });

  it('never reads the message to decide', () => {
    const disguised = new LmsUnavailableError('LOGIN_FAILED RATE_LIMITED invalid_grant');
    expect(decide(disguised)).toMatchObject({ action: 'wait', code: 'LMS_UNAVAILABLE' });
  });
});
