import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { runExclusive, type RedisLock } from '../auth/redis-lock.ts';
import { UsageError } from '../errors/index.ts';
import { answersAsLoggedIn, cookieHeader } from './session-fetch.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

/** The part of a Playwright storage state (`context.storageState()`) that certharvest uses. */
const storageStateSchema = z.object({
  cookies: z.array(
    z.object({
      name: z.string().min(1),
      value: z.string(),
      domain: z.string(),
      path: z.string().default('/'),
      expires: z.number().optional(),
    }),
  ),
});

/** A Chromium user agent for sessions a person captured (the storage state does not record one). */
export const IMPORTED_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

/**
 * The cookies of a storage-state file that a browser would send to `lmsUrl`: domain-matched (a
 * leading dot or a parent domain), not expired. Throws a `UsageError` naming the problem.
 */
export async function cookiesForLms(
  file: string,
  lmsUrl: string,
  now = Date.now(),
): Promise<{ name: string; value: string }[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  const parsed = storageStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(
      `${file}: not a Playwright storage state (expected {"cookies": [{name, value, domain, …}]})`,
    );
  }
  const host = new URL(lmsUrl).hostname;
  const cookies = parsed.data.cookies.filter((c) => {
    const domain = c.domain.replace(/^\./, '');
    const matches = host === domain || host.endsWith(`.${domain}`);
    const live = c.expires === undefined || c.expires <= 0 || c.expires * 1000 > now;
    return matches && live;
  });
  if (cookies.length === 0) {
    throw new UsageError(
      `${file}: no live cookie for ${host} (was the state captured on this LMS, and recently?)`,
    );
  }
  return cookies.map((c) => ({ name: c.name, value: c.value }));
}

/**
 * Share a session a person captured (`certharvest auth session import`): its cookies for the LMS
 * host are checked against the landing page, then stored as the fleet's next generation.
 */
export async function importStorageState(options: {
  file: string;
  lmsUrl: string;
  landingPath: string;
  store: SessionStore;
  lock: RedisLock;
  fetch?: typeof fetch;
}): Promise<SessionRecord> {
  const cookies = await cookiesForLms(options.file, options.lmsUrl);
  const creds = { cookieHeader: cookieHeader(cookies), userAgent: IMPORTED_USER_AGENT };
  if (!(await answersAsLoggedIn(options.lmsUrl, options.landingPath, creds, options.fetch))) {
    throw new UsageError(
      `${options.file}: these cookies are not logged in (${options.landingPath} did not answer as a logged-in user); capture the state again`,
    );
  }
  const busy = () => {
    throw new UsageError('a worker is logging in right now: try again in a minute');
  };
  return runExclusive(options.lock, { waitMs: 0, onBusy: busy }, async () => {
    const latest = await options.store.read().catch(() => undefined);
    const record: SessionRecord = {
      v: 1,
      generation: (latest?.generation ?? 0) + 1,
      cookies,
      userAgent: IMPORTED_USER_AGENT,
      obtainedAt: Date.now(),
      source: 'import',
    };
    await options.store.write(record);
    return record;
  });
}
