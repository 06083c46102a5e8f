import type { HttpAnswer } from './transport.ts';

/**
 * Where a walk of redirects ended. Only `answer` is the end a caller reads; the others carry the
 * redirect answer (its body unread) so the caller can say what it saw.
 *   answer     not a redirect, a redirect without a usable Location, or one to a `stopAt` URL
 *   off-host   a redirect to another origin: never followed, so no cookie or token goes there
 *   too-many   more than `maxRedirects` redirects on the same origin
 */
export type RedirectEnd<A extends HttpAnswer> =
  | { kind: 'answer'; answer: A }
  | { kind: 'off-host'; answer: A; to: URL }
  | { kind: 'too-many'; answer: A; to: URL };

export interface RedirectPolicy {
  maxRedirects: number;
  /** A redirect here is an answer, not followed (the login page: "logged out"). */
  stopAt?: (to: URL) => boolean;
}

/** The target of a redirect answer, or undefined when it is not one (or its Location is unusable). */
export function redirectTarget(answer: HttpAnswer): URL | undefined {
  if (answer.status < 300 || answer.status >= 400) return undefined;
  const location = answer.headers.get('location');
  if (!location) return undefined;
  try {
    return new URL(location, answer.url);
  } catch {
    return undefined;
  }
}

/**
 * The one redirect policy: follow redirects on `start`'s origin only. A redirect to another host
 * is an answer (`off-host`), never a request.
 */
export async function followSameHost<A extends HttpAnswer>(
  start: URL,
  send: (url: URL) => Promise<A>,
  policy: RedirectPolicy,
): Promise<RedirectEnd<A>> {
  let current = start;
  for (let hops = 0; ; hops++) {
    const answer = await send(current);
    const to = redirectTarget(answer);
    if (!to || policy.stopAt?.(to)) return { kind: 'answer', answer };
    if (to.origin !== start.origin) return { kind: 'off-host', answer, to };
    if (hops >= policy.maxRedirects) return { kind: 'too-many', answer, to };
    await answer.discard();
    current = to;
  }
}
