/**
 * What an answer from a session-only URL means, from what is known before reading the body whole:
 * the status, where it came from or points to, its headers and its first bytes. Pure, so every case
 * is unit-tested without a browser or a server.
 *
 *   pdf       a PDF is coming (its bytes decide; Content-Type is only a hint)
 *   redirect  follow it (on the LMS host only)
 *   expired   the session is gone: log in again, then retry
 *   ambiguous 401/403 with a page: expired, or a certificate this user may not see — probe once
 *   throttled 429/503: wait `Retry-After`
 *   error     anything else (HTTP status kept)
 */
export type AnswerKind = 'pdf' | 'redirect' | 'expired' | 'ambiguous' | 'throttled' | 'error';

export interface Answer {
  status: number;
  /** The URL that answered (after redirects already followed). */
  url: string;
  headers: { get(name: string): string | null };
  /** The first bytes of the body (up to 1 KiB is plenty). */
  firstBytes: Uint8Array;
}

/**
 * Whether `url` is one of the site's login pages: a pattern of `loggedOutPaths` matches its path
 * and query. A string that is not a URL is not one.
 */
export function isLoginPageUrl(loggedOutPaths: readonly RegExp[], url: string | URL): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const pathAndQuery = `${parsed.pathname}${parsed.search}`;
  return loggedOutPaths.some((p) => p.test(pathAndQuery));
}

/**
 * @param loggedOutPaths the site's login page paths (its web profile's `loggedOutPaths`, matched
 *   against path and query): an answer from there, or a redirect there, means "expired".
 */
export function classifyAnswer(answer: Answer, loggedOutPaths: readonly RegExp[]): AnswerKind {
  const { status } = answer;
  const isLogin = (url: string) => isLoginPageUrl(loggedOutPaths, url);
  if (status >= 300 && status < 400) {
    const location = answer.headers.get('location');
    if (!location) return 'error';
    return isLogin(new URL(location, answer.url).toString()) ? 'expired' : 'redirect';
  }
  if (status === 429 || status === 503) return 'throttled';
  if (status === 401 || status === 403) return isLogin(answer.url) ? 'expired' : 'ambiguous';
  if (status !== 200) return 'error';
  if (isLogin(answer.url)) return 'expired';
  if (startsLikePdf(answer.firstBytes)) return 'pdf';
  // A 200 that is not a PDF is the login page (or another page the session lands on).
  return 'expired';
}

/** `%PDF-` within the first KiB (some servers send a BOM or a blank line first). */
export function startsLikePdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).includes('%PDF-');
}
