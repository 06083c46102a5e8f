import type { PdfSink } from '../../pdf/index.ts';
import { LmsRequestError } from '../errors.ts';
import type { LmsAnswer, LmsHttpClient } from '../http-client.ts';
import type { CertificatePdf } from './types.ts';

/** Statuses of the optional `/pdf` route that mean "not on this tenant / not for this app". */
const PDF_UNSUPPORTED = new Set([403, 404, 405, 501]);

/**
 * What the bearer `/pdf` route answered: a PDF (its body drained into `sink`, cut at
 * `maxPdfBytes`), or "unsupported" (naming the missing scope when a 403's body tells).
 */
export async function certificatePdfOf(
  http: LmsHttpClient,
  response: LmsAnswer,
  route: string,
  sink: PdfSink,
  maxPdfBytes: number,
): Promise<CertificatePdf> {
  const { status } = response;
  if (status === 403) {
    // A 403 here is often the app's scope, not a missing route: say which, when the body tells.
    const scope = await missingScope(http, response, route, 'unknown');
    return { kind: 'unsupported', status, ...(scope ? { missingScope: scope } : {}) };
  }
  if (PDF_UNSUPPORTED.has(status) || (status >= 300 && status < 400)) {
    await response.discard();
    return { kind: 'unsupported', status };
  }
  if (!response.ok) {
    await response.discard();
    throw new LmsRequestError(`${route}: the LMS answered ${status}`, status);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  await http.drain(response, route, sink, maxPdfBytes);
  return {
    kind: 'pdf',
    contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    ...(Number.isSafeInteger(declared) ? { contentLength: declared } : {}),
  };
}

/**
 * The scope a 403's body names ("… scope … Required: x"), `unnamed` when it speaks of a scope
 * without naming one, undefined when it does not speak of one.
 */
export async function missingScope(
  http: LmsHttpClient,
  response: LmsAnswer,
  route: string,
  unnamed?: string,
): Promise<string | undefined> {
  const message = await http
    .bytes(response, route, 16 * 1024)
    .then((b) => new TextDecoder().decode(b))
    .catch(() => '');
  if (!/scope/i.test(message)) return undefined;
  return /Required:\s*([\w:*.-]+)/i.exec(message)?.[1] ?? unnamed;
}
