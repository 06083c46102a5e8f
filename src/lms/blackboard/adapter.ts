import type { Redis } from 'ioredis';
import type { WebProfile, WebSession } from '../../browser/index.ts';
import { LoginFailedError } from '../../browser/errors.ts';
import type { Certificate, LmsId } from '../../certificate/index.ts';
import type { Logger } from '../../log/index.ts';
import type { PdfResponseFacts } from '../../pdf/index.ts';
import { LmsDataError, LmsRequestError, LmsUnavailableError, RateLimitedError } from '../errors.ts';
import type { RateStateStore } from '../fleet-rate-state.ts';
import type { AccessTokenSource, LmsRequestObserver } from '../http-client.ts';
import type { AwardEntry, ListAwardsOptions, LmsAdapter, UserDirectory } from '../ports.ts';
import { achievementsPageUrl, parseAchievementsPage, type ListedAward } from './achievements-page.ts';
import { LEARN_API, LearnClient } from './client.ts';
import { getSessionPage, LEARN_LANDING_PATH, LEARN_LOGIN_URL_PATTERNS } from './session-page.ts';
import {
  DEFAULT_SITE_PROFILE,
  fillTemplate,
  FilterUnsupportedError,
  TemplateError,
  unsupportedFilters,
  type SiteProfile,
} from './site-profile.ts';

/** Timings of the listing pages. */
export interface BlackboardPagesOptions {
  /** Per page. Default 30 000 ms. */
  timeoutMs?: number;
  /**
   * A certificate's link, read at discovery, is used for its download within this long; after
   * that (or in another process) the listing page is read again for a fresh link. Default 10 min.
   */
  linkTtlMs?: number;
}

export interface BlackboardAdapterOptions {
  lmsUrl: string;
  tokens: AccessTokenSource;
  /**
   * The logged-in web session. Learn lists certificates only on its web pages: without a session
   * (no LMS_USERNAME/LMS_PASSWORD) nothing can be discovered or downloaded.
   */
  session: WebSession | undefined;
  logger: Logger;
  /** Default: the global fetch (REST calls, Achievements pages, the reachability probe). */
  fetch?: typeof fetch;
  /** The fleet's shared view of the LMS's request budget (see RateBudget). */
  rateState?: RateStateStore;
  /** Hears each REST request (the worker's metrics). */
  observe?: LmsRequestObserver;
  /** With `prefix`: count the fleet's REST calls per UTC day in Redis. */
  redis?: Redis;
  /** QUEUE_PREFIX, for the call counter's key. */
  prefix?: string;
  /** The app's daily REST quota (warned about at 80 % and 100 %). Default 10 000. */
  dailyQuota?: number;
  /**
   * How this site's pages are read (LMS_SITE_PROFILE with the BB_* variables laid over it).
   * Default DEFAULT_SITE_PROFILE, the markup of docs/blackboard.md.
   */
  profile?: SiteProfile;
  /**
   * The web login's facts the page reads need: what a logged-out answer looks like, and the page
   * probed after a 401/403. Default Learn's own (`/webapps/login/`, `/ultra/stream`).
   */
  webProfile?: Pick<WebProfile, 'loggedOutPaths' | 'landingPath'>;
  pages?: BlackboardPagesOptions;
}

/**
 * Blackboard Learn behind the processors' ports. Users and course memberships come from the REST
 * API (bearer token); a user's certificates from each course's Achievements page, read with the
 * fleet's web session; the PDF from the certificate's download URL, with the session too. Learn
 * has no REST route for certificates, so `viaApi` is always 'unsupported'. What the pages look like
 * is the site profile's business (site-profile.ts); ids travel as Learn gives them.
 */
export function createBlackboardAdapter(options: BlackboardAdapterOptions): LmsAdapter & {
  client: LearnClient;
  directory: UserDirectory;
} {
  const lmsUrl = new URL(options.lmsUrl).origin;
  const log = options.logger.child({ component: 'blackboard' });
  const client = new LearnClient({
    baseUrl: lmsUrl,
    tokens: options.tokens,
    logger: options.logger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.rateState ? { rateLimit: { shared: options.rateState } } : {}),
    ...(options.redis ? { redis: options.redis, prefix: options.prefix } : {}),
    ...(options.dailyQuota !== undefined ? { dailyQuota: options.dailyQuota } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
  });
  const pages = options.pages ?? {};
  const profile = options.profile ?? DEFAULT_SITE_PROFILE;
  const maxPageBytes = profile.maxPageBytes;
  const linkTtlMs = pages.linkTtlMs ?? 10 * 60_000;
  // A template that leaves the LMS fails at start-up, not on the first job.
  const sample = { userRef: '_1_1', courseRef: '_1_1', issuedRef: '_1_1', awardRef: '_1_1' };
  achievementsPageUrl(lmsUrl, profile, sample);
  if (profile.certificate.url !== undefined) {
    fillTemplate(profile.certificate.url, sample, lmsUrl, `${profile.source}: certificate.url`);
  }
  /** Download links seen on listing pages, by certificate, with when they were read. */
  const links = new Map<string, { url: URL; at: number }>();
  const doFetch = options.fetch ?? fetch;
  /** A listing page read counts as an LMS request (route `page`), whatever it answered. */
  const observedPage = async <T>(read: Promise<T>, started: number): Promise<T> => {
    const tell = (outcome: Parameters<LmsRequestObserver>[1]) => {
      try {
        options.observe?.('page', outcome, (Date.now() - started) / 1000);
      } catch {
        // a failing observer never fails a read
      }
    };
    try {
      const page = await read;
      tell(page === 'logged-out' ? 'unauthorized' : 'ok');
      return page;
    } catch (error) {
      tell(
        error instanceof RateLimitedError
          ? 'throttled'
          : error instanceof LmsUnavailableError
            ? 'server-error'
            : 'client-error',
      );
      throw error;
    }
  };

  const requireSession = (what: string): WebSession => {
    if (options.session) return options.session;
    throw new LoginFailedError(
      `Blackboard Learn ${what} only through its web pages, and there is no web session: set LMS_USERNAME and ` +
        'LMS_PASSWORD (or import a session with `certharvest auth session import FILE`) and a DOWNLOAD_STRATEGY other than api',
      'LOGIN_NOT_CONFIGURED',
    );
  };

  /** One course's listing page for one user, through the fleet's session; its links remembered. */
  const readCourse = (session: WebSession, userRef: string, courseRef: string): Promise<ListedAward[]> => {
    const url = achievementsPageUrl(lmsUrl, profile, { userRef, courseRef });
    const route = `GET ${url.pathname} (course ${courseRef})`;
    return session.withSession(
      async (credentials) => {
        const started = Date.now();
        const page = await observedPage(
          getSessionPage(url, credentials, route, {
            lmsUrl,
            maxBytes: maxPageBytes,
            loginUrlPatterns: options.webProfile?.loggedOutPaths ?? LEARN_LOGIN_URL_PATTERNS,
            landingPath: options.webProfile?.landingPath ?? LEARN_LANDING_PATH,
            ...(options.fetch ? { fetch: options.fetch } : {}),
            ...(pages.timeoutMs !== undefined ? { timeoutMs: pages.timeoutMs } : {}),
          }),
          started,
        );
        if (page === 'logged-out') return 'logged-out';
        const parsed = parseAchievementsPage(page.html, { pageUrl: page.url, userRef, courseRef, profile });
        if (parsed.kind === 'login') return 'logged-out';
        const now = Date.now();
        for (const award of parsed.awards) {
          if (award.entry.ok && award.download) remember(award.entry.certificate, award.download, now);
        }
        return parsed.awards;
      },
      (line) => log.debug({ userId: userRef, orgUnitId: courseRef }, line),
    );
  };

  const linkKey = (c: Pick<Certificate, 'userId' | 'orgUnitId' | 'issuedId'>) =>
    JSON.stringify([String(c.userId), String(c.orgUnitId), String(c.issuedId)]);
  const remember = (c: Certificate, url: URL, at: number) => {
    const key = linkKey(c);
    links.delete(key);
    links.set(key, { url, at });
    // Oldest first out: a bounded memory, whatever the batch size.
    while (links.size > 10_000) links.delete(links.keys().next().value as string);
  };

  /**
   * Where a certificate's PDF is: the link its listing page showed (remembered from discovery, or
   * read again), or the profile's certificate URL when the page shows none.
   */
  const downloadUrl = async (session: WebSession, certificate: Certificate): Promise<URL> => {
    const key = linkKey(certificate);
    const known = links.get(key);
    if (known && Date.now() - known.at < linkTtlMs) return known.url;
    const userRef = String(certificate.userId);
    const courseRef = String(certificate.orgUnitId);
    const listed = await readCourse(session, userRef, courseRef);
    const found = listed.find(
      (a) => a.entry.ok && String(a.entry.certificate.issuedId) === String(certificate.issuedId),
    );
    if (found?.download) return found.download;
    const route = `GET ${achievementsPageUrl(lmsUrl, profile, { userRef, courseRef }).pathname} (course ${courseRef})`;
    if (profile.certificate.url === undefined) {
      throw new LmsDataError(
        route,
        '',
        `the page no longer shows certificate ${String(certificate.issuedId)}, and the site profile (${profile.source}) has no certificate.url`,
      );
    }
    try {
      return fillTemplate(
        profile.certificate.url,
        {
          userRef,
          courseRef,
          issuedRef: String(certificate.issuedId),
          awardRef: String(certificate.awardId),
        },
        lmsUrl,
        `${profile.source}: certificate.url`,
      );
    } catch (error) {
      if (error instanceof TemplateError) throw new LmsDataError(route, '', error.message);
      throw error;
    }
  };

  return {
    client,
    directory: {
      host: new URL(lmsUrl).host,
      async resolveUser(by, value) {
        const user = await client.resolveUser({ by, value } as Parameters<LearnClient['resolveUser']>[0]);
        return { userId: user.userId, userName: user.userName };
      },
      async *listAllUserIds() {
        for await (const item of client.listUsers()) {
          if (item.ok) yield item.value.userId;
          else log.warn({ reason: item.error.message }, 'a Learn user that does not parse was skipped');
        }
      },
      /**
       * Each course the user is enrolled in, then its listing page; its certificates carry the
       * course's name when the membership listing gave it. `includeExpired: false` leaves
       * out the certificates whose expiry date (the profile's `expires` field) has passed, and is
       * refused (FilterUnsupportedError) when the profile reads no expiry. A course whose page is
       * refused (403, 404, not HTML, too large) is one rejected entry, and the other courses go
       * on; a session, rate-limit or outage error fails the listing (the job retries or waits).
       */
      async *listAwards(userId: LmsId, listing: ListAwardsOptions = {}): AsyncIterable<AwardEntry> {
        const includeExpired = listing.includeExpired ?? true;
        const [unsupported] = unsupportedFilters(profile, { includeExpired });
        if (unsupported !== undefined) throw new FilterUnsupportedError(unsupported);
        const session = requireSession('lists certificates');
        const seen = new Set<string>();
        for await (const membership of client.listMemberships(userId)) {
          if (!membership.ok) {
            yield {
              ok: false,
              ref: `membership ${describeRaw(membership.raw)}`,
              code: membership.error.code,
              reason: membership.error.message,
            };
            continue;
          }
          const { userId: userRef, orgUnitId: courseRef, orgUnitName } = membership.value;
          let awards: ListedAward[];
          try {
            awards = await readCourse(session, userRef, courseRef);
          } catch (error) {
            if (
              error instanceof LmsDataError ||
              error instanceof LmsRequestError ||
              error instanceof TemplateError
            ) {
              yield {
                ok: false,
                ref: `course ${courseRef}`,
                code: error instanceof TemplateError ? 'LMS_DATA_INVALID' : error.code,
                reason: error.message,
              };
              continue;
            }
            throw error;
          }
          const now = new Date().toISOString();
          for (const { entry, expires } of awards) {
            if (!includeExpired && expires !== null && expires <= now) continue;
            if (entry.ok) {
              const key = JSON.stringify([entry.certificate.orgUnitId, entry.certificate.issuedId]);
              if (seen.has(key)) continue;
              seen.add(key);
              // The page names no course; the membership listing did (`expand=course`), when it could.
              if (orgUnitName !== undefined) {
                yield { ...entry, certificate: { ...entry.certificate, orgUnitName } };
                continue;
              }
            }
            yield entry;
          }
        }
      },
      async reachable() {
        try {
          const res = await doFetch(`${lmsUrl}${LEARN_API}/system/version`, {
            signal: AbortSignal.timeout(10_000),
            redirect: 'manual',
          });
          await res.body?.cancel();
          return true;
        } catch {
          return false;
        }
      },
    },
    fetcher: {
      async viaApi(): Promise<PdfResponseFacts | 'unsupported'> {
        // Learn has no REST route for achievements or certificates (reference §6.4).
        return 'unsupported';
      },
      async viaBrowser(certificate, sink, logLine): Promise<PdfResponseFacts> {
        const session = requireSession('serves certificates');
        const url = await downloadUrl(session, certificate);
        return session.fetchPdf(url.href, sink, logLine);
      },
    },
  };
}

/** A short, safe label for a membership Learn sent in a shape we refuse. */
function describeRaw(raw: unknown): string {
  const r = raw as { courseId?: unknown } | null;
  return `course ${JSON.stringify(r?.courseId ?? '?')}`.slice(0, 120);
}
