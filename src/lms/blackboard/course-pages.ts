/**
 * A course's listing page read with the fleet's web session, the site profile's way: its awards,
 * and where each certificate's PDF is (the link the page showed, remembered for a while, or the
 * profile's certificate URL when the page shows none).
 */
import type { WebProfile, WebSession } from '../../browser/index.ts';
import type { Certificate } from '../../certificate/index.ts';
import type { Logger } from '../../log/index.ts';
import { LmsDataError, LmsUnavailableError, RateLimitedError } from '../errors.ts';
import type { LmsRequestObserver } from '../http-client.ts';
import type { ListedAward } from './achievement-reading.ts';
import { achievementsPageUrl, parseAchievementsPage } from './achievements-page.ts';
import { DownloadLinks } from './download-links.ts';
import { getSessionPage, LEARN_LANDING_PATH, LEARN_LOGIN_URL_PATTERNS } from './session-page.ts';
import type { SiteProfile } from './site-profile-shape.ts';
import { fillTemplate, TemplateError } from './url-template.ts';

export interface CoursePagesOptions {
  /** The LMS's origin. */
  lmsUrl: string;
  profile: SiteProfile;
  log: Logger;
  /** Per page. Default 30 000 ms (getSessionPage's). */
  timeoutMs?: number | undefined;
  /** How long a link read at discovery serves the download. */
  linkTtlMs: number;
  webProfile?: Pick<WebProfile, 'loggedOutPaths' | 'landingPath'> | undefined;
  fetch?: typeof fetch | undefined;
  observe?: LmsRequestObserver | undefined;
}

export class CoursePages {
  readonly #o: CoursePagesOptions;
  readonly #links: DownloadLinks;

  constructor(options: CoursePagesOptions) {
    this.#o = options;
    this.#links = new DownloadLinks(options.linkTtlMs);
  }

  /** One course's listing page for one user, through the fleet's session; its links remembered. */
  read(session: WebSession, userRef: string, courseRef: string): Promise<ListedAward[]> {
    const { lmsUrl, profile, webProfile } = this.#o;
    const url = achievementsPageUrl(lmsUrl, profile, { userRef, courseRef });
    const route = `GET ${url.pathname} (course ${courseRef})`;
    return session.withSession(
      async (credentials) => {
        const started = Date.now();
        const page = await observedPage(
          this.#o.observe,
          getSessionPage(url, credentials, route, {
            lmsUrl,
            maxBytes: profile.maxPageBytes,
            loginUrlPatterns: webProfile?.loggedOutPaths ?? LEARN_LOGIN_URL_PATTERNS,
            landingPath: webProfile?.landingPath ?? LEARN_LANDING_PATH,
            ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
            ...(this.#o.timeoutMs !== undefined ? { timeoutMs: this.#o.timeoutMs } : {}),
          }),
          started,
        );
        if (page === 'logged-out') return 'logged-out';
        const parsed = parseAchievementsPage(page.html, { pageUrl: page.url, userRef, courseRef, profile });
        if (parsed.kind === 'login') return 'logged-out';
        const now = Date.now();
        for (const award of parsed.awards) {
          if (award.entry.ok && award.download)
            this.#links.remember(award.entry.certificate, award.download, now);
        }
        return parsed.awards;
      },
      (line) => this.#o.log.debug({ userId: userRef, orgUnitId: courseRef }, line),
    );
  }

  /**
   * Where a certificate's PDF is: the link its listing page showed (remembered from discovery, or
   * read again), or the profile's certificate URL when the page shows none.
   */
  async downloadUrl(session: WebSession, certificate: Certificate): Promise<URL> {
    const known = this.#links.fresh(certificate);
    if (known) return known;
    const userRef = String(certificate.userId);
    const courseRef = String(certificate.orgUnitId);
    const listed = await this.read(session, userRef, courseRef);
    const found = listed.find(
      (a) => a.entry.ok && String(a.entry.certificate.issuedId) === String(certificate.issuedId),
    );
    if (found?.download) return found.download;
    return this.#templateUrl(certificate, userRef, courseRef);
  }

  /** The profile's certificate URL for a certificate its page no longer shows a link for. */
  #templateUrl(certificate: Certificate, userRef: string, courseRef: string): URL {
    const { lmsUrl, profile } = this.#o;
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
  }
}

/** A listing page read counts as an LMS request (route `page`), whatever it answered. */
async function observedPage<T>(
  observe: LmsRequestObserver | undefined,
  read: Promise<T>,
  started: number,
): Promise<T> {
  const tell = (outcome: Parameters<LmsRequestObserver>[1]) => {
    try {
      observe?.('page', outcome, (Date.now() - started) / 1000);
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
}
