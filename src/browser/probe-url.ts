import type { SessionCredentials } from './session-fetch.ts';
import { classifyAnswer, startsLikePdf, type AnswerKind } from './classify-answer.ts';

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
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop <= 5; hop++) {
    let res: Response;
    try {
      res = await (options.fetch ?? fetch)(current, {
        headers: { cookie: session.cookieHeader, 'user-agent': session.userAgent, accept: '*/*' },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      return {
        url: current,
        meaning: 'unreachable',
        firstBytes: '',
        looksLikePdf: false,
        error: String(err),
      };
    }
    const first = await readFirst(res);
    const location = res.headers.get('location') ?? undefined;
    const meaning = classifyAnswer(
      { status: res.status, url: current, headers: res.headers, firstBytes: first },
      options.loggedOutPaths,
    );
    const length = res.headers.get('content-length');
    const probe: UrlProbe = {
      url: current,
      status: res.status,
      ...(res.headers.get('content-type') ? { contentType: res.headers.get('content-type')! } : {}),
      ...(length !== null ? { contentLength: Number(length) } : {}),
      ...(location ? { location: new URL(location, current).href } : {}),
      meaning,
      firstBytes: printable(first.subarray(0, FIRST_BYTES)),
      looksLikePdf: startsLikePdf(first),
    };
    if (meaning !== 'redirect' || !probe.location) return probe;
    if (new URL(probe.location).origin !== origin) return { ...probe, meaning: 'off-host' };
    current = probe.location;
  }
  return {
    url: current,
    meaning: 'error',
    firstBytes: '',
    looksLikePdf: false,
    error: 'more than 5 redirects',
  };
}

async function readFirst(res: Response): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 1024) {
      const next = await reader.read();
      if (next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } catch {
    // a body that breaks off: what arrived is what is shown
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks);
}

function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}
