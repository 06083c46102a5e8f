import type { RedisConnection } from '../../util/redis-nodes.ts';
import type { WebProfile, WebSession } from '../../browser/index.ts';
import { LoginFailedError } from '../../browser/errors.ts';
import type { Logger } from '../../log/index.ts';
import { answersAtAll } from '../../http/answers-at-all.ts';
import type { PdfResponseFacts } from '../../pdf/index.ts';
import type { RateStateStore } from '../fleet-rate-state.ts';
import type { AccessTokenSource, LmsRequestObserver } from '../http-client.ts';
import type { LmsAdapter, UserDirectory } from '../ports.ts';
import { achievementsPageUrl } from './achievements-page.ts';
import { LEARN_API, LearnClient } from './client.ts';
import { CoursePages } from './course-pages.ts';
import { listLearnAwards } from './learn-awards.ts';
import { DEFAULT_SITE_PROFILE } from './site-profile-default.ts';
import type { SiteProfile } from './site-profile-shape.ts';
import { fillTemplate } from './url-template.ts';

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
  redis?: RedisConnection;
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
 * fleet's web session (course-pages.ts, learn-awards.ts); the PDF from the certificate's download
 * URL, with the session too. Learn has no REST route for certificates, so `viaApi` is always
 * 'unsupported'. What the pages look like is the site profile's business (site-profile.ts); ids
 * travel as Learn gives them.
 */
export function createBlackboardAdapter(options: BlackboardAdapterOptions): LmsAdapter & {
  client: LearnClient;
  directory: UserDirectory;
} {
  const lmsUrl = new URL(options.lmsUrl).origin;
  const log = options.logger.child({ component: 'blackboard' });
  const client = learnClient(options, lmsUrl);
  const profile = options.profile ?? DEFAULT_SITE_PROFILE;
  checkTemplates(lmsUrl, profile);
  const pages = new CoursePages({
    lmsUrl,
    profile,
    log,
    timeoutMs: options.pages?.timeoutMs,
    linkTtlMs: options.pages?.linkTtlMs ?? 10 * 60_000,
    webProfile: options.webProfile,
    fetch: options.fetch,
    observe: options.observe,
  });
  const session = (what: string) => requireSession(options.session, what);
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
      listAwards: (userId, listing) => listLearnAwards({ client, profile, pages, session }, userId, listing),
      reachable: () =>
        answersAtAll(`${lmsUrl}${LEARN_API}/system/version`, options.fetch ? { fetch: options.fetch } : {}),
    },
    fetcher: {
      async viaApi(): Promise<PdfResponseFacts | 'unsupported'> {
        // Learn has no REST route for achievements or certificates (reference §6.4).
        return 'unsupported';
      },
      async viaBrowser(certificate, sink, logLine): Promise<PdfResponseFacts> {
        const web = session('serves certificates');
        const url = await pages.downloadUrl(web, certificate);
        return web.fetchPdf(url.href, sink, logLine);
      },
    },
  };
}

function learnClient(options: BlackboardAdapterOptions, lmsUrl: string): LearnClient {
  return new LearnClient({
    baseUrl: lmsUrl,
    tokens: options.tokens,
    logger: options.logger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.rateState ? { rateLimit: { shared: options.rateState } } : {}),
    ...(options.redis ? { redis: options.redis, prefix: options.prefix } : {}),
    ...(options.dailyQuota !== undefined ? { dailyQuota: options.dailyQuota } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
  });
}

/** A template that leaves the LMS fails at start-up, not on the first job. */
function checkTemplates(lmsUrl: string, profile: SiteProfile): void {
  const sample = { userRef: '_1_1', courseRef: '_1_1', issuedRef: '_1_1', awardRef: '_1_1' };
  achievementsPageUrl(lmsUrl, profile, sample);
  if (profile.certificate.url !== undefined) {
    fillTemplate(profile.certificate.url, sample, lmsUrl, `${profile.source}: certificate.url`);
  }
}

function requireSession(session: WebSession | undefined, what: string): WebSession {
  if (session) return session;
  throw new LoginFailedError(
    `Blackboard Learn ${what} only through its web pages, and there is no web session: set LMS_USERNAME and ` +
      'LMS_PASSWORD (or import a session with `certharvest auth session import FILE`) and a DOWNLOAD_STRATEGY other than api',
    'LOGIN_NOT_CONFIGURED',
  );
}
