import { exchange } from './exchange.ts';
import { chooseTransport } from './transport.ts';

/**
 * Whether anything answers at `url` (any status; a redirect is not followed): the LMS
 * reachability probe, which must not cost a token or a login.
 */
export async function answersAtAll(
  url: string | URL,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<boolean> {
  try {
    const answer = await exchange(chooseTransport(options), new URL(url), {
      timeoutMs: options.timeoutMs ?? 10_000,
    });
    await answer.discard();
    return true;
  } catch {
    return false;
  }
}
