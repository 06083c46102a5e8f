import {
  chooseTransport,
  classifyAnswer,
  exchange,
  followSameHost,
  HttpExchangeError,
  isLoginPageUrl,
  readFirstChunks,
  startsLikePdf,
  type AnswerKind,
  type RedirectEnd,
  type TimedAnswer,
} from '../http/index.ts';
import type { SessionCredentials } from './session-fetch.ts';

/** What one session-only URL answered, as `certharvest inspect` shows it. */
export interface UrlProbe {
  url: string;
  /** HTTP status; undefined when nothing answered (`error` says why). */
  status?: number;
  contentType?: string;
  contentLength?: number;
  /** Where a redirect pointed (same host redirects are followed, up to 5). */
  location?: string;
  /** What certharvest makes of the answer (see classifyAnswer). */
  meaning: AnswerKind | 'off-host' | 'unreachable';
  /** The first bytes, printable (non-printable ones as `.`), at most 64. */
  firstBytes: string;
  looksLikePdf: boolean;
  error?: string;
}

const FIRST_BYTES = 64;
const MAX_REDIRECTS = 5;

/**
 * GET `url` with the session's cookies and read only its first bytes: the status, type, where it
 * redirects and what it starts with. Redirects are followed on the LMS's origin only (the cookies
 * never leave it); the body is never read past the first KiB.
 */
export async function probeUrl(
  url: string,
  session: SessionCredentials,
  options: { loggedOutPaths: readonly RegExp[]; fetch?: typeof fetch; timeoutMs?: number },
): Promise<UrlProbe> {
  const transport = chooseTransport(options);
  let current = new URL(url);
  const send = (at: URL) => {
    current = at;
    return exchange(transport, at, {
      headers: { cookie: session.cookieHeader, 'user-agent': session.userAgent, accept: '*/*' },
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  };
  let end: RedirectEnd<TimedAnswer>;
  try {
    end = await followSameHost(current, send, {
      maxRedirects: MAX_REDIRECTS,
      stopAt: (to) => isLoginPageUrl(options.loggedOutPaths, to),
    });
  } catch (err) {
    const error = err instanceof HttpExchangeError ? String(err.cause ?? err) : String(err);
    return { url: current.href, meaning: 'unreachable', firstBytes: '', looksLikePdf: false, error };
  }
  if (end.kind === 'too-many') {
    await end.answer.discard();
    const error = `more than ${MAX_REDIRECTS} redirects`;
    return { url: end.to.href, meaning: 'error', firstBytes: '', looksLikePdf: false, error };
  }
  const probe = await describeAnswer(end.answer, options.loggedOutPaths);
  return end.kind === 'off-host' ? { ...probe, meaning: 'off-host' } : probe;
}

/** What one answer shows from its status, headers and first KiB (the rest is never read). */
async function describeAnswer(answer: TimedAnswer, loggedOutPaths: readonly RegExp[]): Promise<UrlProbe> {
  // A body that breaks off: what arrived is what is shown.
  const chunks: Uint8Array[] = [];
  await readFirstChunks(answer, 1024, (cause) => cause as Error)
    .then((read) => chunks.push(...read))
    .catch(() => undefined);
  await answer.discard();
  const first = Buffer.concat(chunks);
  const { headers } = answer;
  const url = answer.url.href;
  const location = headers.get('location') ?? undefined;
  const length = headers.get('content-length');
  const type = headers.get('content-type');
  return {
    url,
    status: answer.status,
    ...(type ? { contentType: type } : {}),
    ...(length !== null ? { contentLength: Number(length) } : {}),
    ...(location ? { location: new URL(location, url).href } : {}),
    meaning: classifyAnswer({ status: answer.status, url, headers, firstBytes: first }, loggedOutPaths),
    firstBytes: printable(first.subarray(0, FIRST_BYTES)),
    looksLikePdf: startsLikePdf(first),
  };
}

function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}
