import { CertharvestError } from '../errors/index.ts';

/** The LMS answered the login page (or a redirect to it) instead of the certificate. */
export class SessionExpiredError extends CertharvestError {
  readonly retryable = true;

  constructor(detail: string) {
    super('SESSION_EXPIRED', `the LMS web session is not valid: ${detail}`);
  }
}

/** The service user's web login was refused: a configuration problem, not worth retrying. */
export class LoginFailedError extends CertharvestError {
  readonly retryable = false;

  constructor(detail: string, code = 'LOGIN_FAILED') {
    super(
      code,
      `web login as the service user failed: ${detail}${code === 'LOGIN_FAILED' ? ' (check LMS_USERNAME and LMS_PASSWORD)' : ''}`,
    );
  }
}

/** Chromium could not be started at all (a missing or broken executable): every download would fail. */
export class BrowserLaunchError extends CertharvestError {
  readonly retryable = false;
  readonly executable: string;

  constructor(executable: string, detail: string, options?: { cause?: unknown }) {
    super(
      'BROWSER_LAUNCH_FAILED',
      `could not start Chromium (${executable}): ${detail}. ` +
        'Install it with `apt-get install chromium` or set CHROMIUM_PATH to a Chromium executable.',
      options,
    );
    this.executable = executable;
  }
}

/** Chromium crashed or did not answer in time (it is relaunched on the next try). */
export class BrowserFailedError extends CertharvestError {
  readonly retryable = true;

  constructor(detail: string, options?: { cause?: unknown }) {
    super('BROWSER_FAILED', `the browser failed: ${detail}`, options);
  }
}

/** The session works, but the service user may not see this certificate (401/403 for it alone). */
export class CertificateForbiddenError extends CertharvestError {
  readonly retryable = false;
  readonly status: number;

  constructor(url: string, status: number) {
    super(
      'CERTIFICATE_FORBIDDEN',
      `HTTP ${status} from ${new URL(url).pathname} although the web session works: the service user may not see this certificate (give its role the permission, then resubmit)`,
    );
    this.status = status;
  }
}

/** A non-PDF HTTP answer from the certificate URL that is not a login page. */
export class CertificateHttpError extends CertharvestError {
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds to wait, from Retry-After, for 429/503. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, url: string, retryAfterSeconds?: number) {
    const what =
      status === 404
        ? 'no such certificate'
        : status === 403
          ? 'access denied'
          : status === 429
            ? 'rate limited'
            : 'error';
    super(
      status === 404 ? 'CERTIFICATE_NOT_FOUND' : 'CERTIFICATE_HTTP',
      `HTTP ${status} (${what}) from ${url}`,
    );
    this.status = status;
    this.retryable = status === 408 || status === 429 || status >= 500;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
