import type { Redis } from 'ioredis';
import type { WebSession } from '../../browser/index.ts';
import { LoginFailedError } from '../../browser/errors.ts';
import type { Certificate } from '../../certificate/index.ts';
import type { Logger } from '../../log/index.ts';
import type { PdfResponseFacts } from '../../pdf/index.ts';
import { LmsDataError, LmsRequestError } from '../errors.ts';
import type { RateStateStore } from '../fleet-rate-state.ts';
import type { AccessTokenSource } from '../http-client.ts';
import type { AwardEntry, ListAwardsOptions, LmsAdapter, UserDirectory } from '../ports.ts';
import {
  achievementsPageUrl,
  certificateDownloadUrl,
  checkSelectors,
  DEFAULT_ACHIEVEMENTS_URL,
  DEFAULT_CERTIFICATE_URL,
  DEFAULT_MAX_PAGE_BYTES,
  parseAchievementsPage,
  type AchievementSelectors,
} from './achievements-page.ts';
import { LEARN_API, LearnClient } from './client.ts';
import { toLearnId } from './ids.ts';
import { getSessionPage, LEARN_LANDING_PATH, LEARN_LOGIN_URL_PATTERNS } from './session-page.ts';

/** Where and how the Achievements pages are read (BB_* settings; defaults in the contract). */
export interface BlackboardPagesOptions {
  /** [BB_ACHIEVEMENTS_URL] `{courseId}`, `{userId}`: Learn primary ids. */
  achievementsUrl?: string;
  /** [BB_CERTIFICATE_URL] `{issuedId}`, `{orgUnitId}`, `{userId}`, `{awardId}`: integers. */
  certificateUrl?: string;
  /** [BB_ACHIEVEMENT_SELECTOR, BB_CERTIFICATE_LINK_SELECTOR, BB_TITLE_SELECTOR, BB_ISSUED_SELECTOR] */
  selectors?: Partial<AchievementSelectors>;
  /** Largest page read. Default 5 MiB. */
  maxPageBytes?: number;
  /** URL patterns of the login page; a redirect there means "log in again". Default `/webapps/login/`. */
  loginUrlPatterns?: readonly RegExp[];
  /** LMS_LOGIN_LANDING, probed after a 401/403. Default `/ultra/stream`. */
  landingPath?: string;
  /** Per page. Default 30 000 ms. */
  timeoutMs?: number;
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
  /** With `prefix`: count the fleet's REST calls per UTC day in Redis. */
  redis?: Redis;
  /** QUEUE_PREFIX, for the call counter's key. */
  prefix?: string;
  /** The app's daily REST quota (warned about at 80 % and 100 %). Default 10 000. */
  dailyQuota?: number;
  pages?: BlackboardPagesOptions;
}

/**
 * Blackboard Learn behind the processors' ports. Users and course memberships come from the REST
 * API (bearer token); a user's certificates from each course's Achievements page, read with the
 * fleet's web session; the PDF from the certificate's download URL, with the session too. Learn
 * has no REST route for certificates, so `viaApi` is always 'unsupported'.
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
  });
  const pages = options.pages ?? {};
  const achievementsTemplate = pages.achievementsUrl ?? DEFAULT_ACHIEVEMENTS_URL;
  const certificateTemplate = pages.certificateUrl ?? DEFAULT_CERTIFICATE_URL;
  const selectors = checkSelectors(pages.selectors);
  const maxPageBytes = pages.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
  // A template with a typo fails at start-up, not on the first job.
  achievementsPageUrl(lmsUrl, achievementsTemplate, { userId: 1, orgUnitId: 1 });
  certificateDownloadUrl(lmsUrl, certificateTemplate, { userId: 1, orgUnitId: 1, issuedId: 1, awardId: 1 });
  const doFetch = options.fetch ?? fetch;

  const requireSession = (what: string): WebSession => {
    if (options.session) return options.session;
    throw new LoginFailedError(
      `Blackboard Learn ${what} only through its web pages, and there is no web session: set LMS_USERNAME and ` +
        'LMS_PASSWORD (or import a session with `certharvest auth session import FILE`) and a DOWNLOAD_STRATEGY other than api',
      'LOGIN_NOT_CONFIGURED',
    );
  };

  /** One course's Achievements page for one user, through the fleet's session. */
  const readCourse = (session: WebSession, userId: number, orgUnitId: number): Promise<AwardEntry[]> => {
    const url = achievementsPageUrl(lmsUrl, achievementsTemplate, { userId, orgUnitId });
    const route = `GET ${url.pathname} (course ${toLearnId(orgUnitId)})`;
    return session.withSession(
      async (credentials) => {
        const page = await getSessionPage(url, credentials, route, {
          lmsUrl,
          maxBytes: maxPageBytes,
          loginUrlPatterns: pages.loginUrlPatterns ?? LEARN_LOGIN_URL_PATTERNS,
          landingPath: pages.landingPath ?? LEARN_LANDING_PATH,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(pages.timeoutMs !== undefined ? { timeoutMs: pages.timeoutMs } : {}),
        });
        if (page === 'logged-out') return 'logged-out';
        const parsed = parseAchievementsPage(page.html, {
          pageUrl: page.url,
          userId,
          orgUnitId,
          selectors,
          maxBytes: maxPageBytes,
        });
        return parsed.kind === 'login' ? 'logged-out' : parsed.entries;
      },
      (line) => log.debug({ userId, orgUnitId }, line),
    );
  };

  return {
    client,
    directory: {
      host: new URL(lmsUrl).host,
      async resolveUser(by, value) {
        const user = await client.resolveUser({ by, value } as Parameters<LearnClient['resolveUser']>[0]);
        return { userId: user.userId };
      },
      async *listAllUserIds() {
        for await (const item of client.listUsers()) {
          if (item.ok) yield item.value.userId;
          else log.warn({ reason: item.error.message }, 'a Learn user that does not parse was skipped');
        }
      },
      /**
       * Each course the user is enrolled in, then its Achievements page. `includeExpired` has
       * nothing to act on: the page shows no expiry (the contract), so every certificate it lists
       * is listed. A course whose page is refused (403, 404, not HTML, too large) is one rejected
       * entry, and the other courses go on; a session, rate-limit or outage error fails the listing
       * (the job retries or waits).
       */
      async *listAwards(userId: number, _listing: ListAwardsOptions = {}): AsyncIterable<AwardEntry> {
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
          const { orgUnitId } = membership.value;
          let entries: AwardEntry[];
          try {
            entries = await readCourse(session, userId, orgUnitId);
          } catch (error) {
            if (error instanceof LmsDataError || error instanceof LmsRequestError) {
              yield {
                ok: false,
                ref: `course ${toLearnId(orgUnitId)}`,
                code: error.code,
                reason: error.message,
              };
              continue;
            }
            throw error;
          }
          for (const entry of entries) {
            if (entry.ok) {
              const key = `${entry.certificate.orgUnitId}:${entry.certificate.issuedId}`;
              if (seen.has(key)) continue;
              seen.add(key);
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
        return session.fetchPdf(certificateUrl(certificate), sink, logLine);
      },
    },
  };

  function certificateUrl(certificate: Certificate): string {
    return certificateDownloadUrl(lmsUrl, certificateTemplate, certificate).href;
  }
}

/** A short, safe label for a membership Learn sent in a shape we refuse. */
function describeRaw(raw: unknown): string {
  const r = raw as { courseId?: unknown } | null;
  return `course ${JSON.stringify(r?.courseId ?? '?')}`.slice(0, 120);
}
