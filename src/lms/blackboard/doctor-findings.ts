/** What Learn's doctor steps keep for the steps after them, and how its calls fail. */
import type { WebProfile } from '../../browser/index.ts';
import type { Certificate } from '../../certificate/index.ts';
import { SkipCheck, type CheckOutcome } from '../../doctor/check.ts';
import { lmsCallFailure } from '../../doctor/lms-failure.ts';
import type { DoctorState } from '../../doctor/state.ts';
import { createBlackboardAdapter } from './adapter.ts';
import { LEARN_API } from './client.ts';
import type { SiteProfile } from './site-profile.ts';
import type { LearnUser } from './types.ts';

/** What the Learn steps need of the site: how its pages are read, and its web login. */
export interface LearnDoctorSettings {
  profile: SiteProfile;
  webProfile: Pick<WebProfile, 'loggedOutPaths' | 'landingPath'>;
}

type LearnAdapter = ReturnType<typeof createBlackboardAdapter>;

/** What the Learn steps establish for the ones after them (one per doctor run). */
class LearnFindings {
  /** The adapter (REST client, listing pages, downloads) the doctor uses, once made. */
  learn?: LearnAdapter;
  /** The user `--user` named (or the service user). */
  user?: LearnUser;
  /** The certificate to download, from a listing page. */
  certificate?: Certificate;
  /** Every URL the adapter fetched outside the REST API (the pages it read). */
  readonly pageUrls: string[] = [];
}

export function findingsOf(s: DoctorState): LearnFindings {
  return s.kept(LearnFindings);
}

/**
 * The Learn adapter the doctor uses, made once from the fleet's parts (its REST client spends from
 * the fleet's quota, and counts its calls there) and the doctor's web session, with a fetch that
 * notes every page it reads.
 */
export function learnAdapter(s: DoctorState, site: LearnDoctorSettings): LearnAdapter {
  const found = findingsOf(s);
  if (found.learn) return found.learn;
  const { lms } = s.need('lms');
  const landing = new URL(site.webProfile.landingPath, lms.lmsUrl).pathname;
  const counted: typeof fetch = (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href, lms.lmsUrl);
    if (!url.pathname.startsWith(`${LEARN_API}/`) && url.pathname !== landing) found.pageUrls.push(url.href);
    return fetch(input, init);
  };
  found.learn = createBlackboardAdapter({
    lmsUrl: lms.lmsUrl,
    tokens: lms.tokens,
    session: s.part('session'),
    logger: lms.logger,
    fetch: counted,
    rateState: lms.rateState,
    redis: lms.redis,
    prefix: lms.prefix,
    profile: site.profile,
    webProfile: site.webProfile,
  });
  return found.learn;
}

/** The adapter the user lookup made (a later step skips without it). */
export function madeAdapter(s: DoctorState): LearnAdapter {
  const learn = findingsOf(s).learn;
  if (!learn) throw new SkipCheck('skipped: the user lookup did not run');
  return learn;
}

/** How to fix pages that do not read: the profile file, or without one the BB_* variables. */
export function pagesFix(profile: SiteProfile): string {
  const what =
    profile.source === 'default'
      ? 'check BB_ACHIEVEMENTS_URL and the BB_*_SELECTOR variables (BB_ACHIEVEMENT_SELECTOR, ' +
        'BB_CERTIFICATE_LINK_SELECTOR, BB_TITLE_SELECTOR, BB_ISSUED_SELECTOR), or write a site profile ' +
        '(LMS_SITE_PROFILE),'
      : `check the site profile (${profile.source}: achievements.url, item and fields)`;
  return (
    `${what} against a listing page opened as the service user in a browser, with ` +
    '`certharvest inspect --user USER --course COURSE` (docs/blackboard.md)'
  );
}

/** Printable and short: a page's text may hold anything. */
export function clean(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What a Learn REST call's failure means, and its likely fix. */
export function learnFailure(err: unknown, s: DoctorState): CheckOutcome {
  const url = s.part('config')?.lms.url ?? '?';
  return lmsCallFailure(err, {
    unauthorized:
      'check that the REST integration of OAUTH_CLIENT_ID is on in Learn (System Admin, REST API ' +
      'Integrations), with a user whose role may read users and courses',
    unauthorizedStatus: true,
    forbidden:
      "give the integration's user (System Admin, REST API Integrations) a role that may read users and their courses",
    notFound: `check that LMS_URL (${url}) is the Learn site's base URL`,
    throttled:
      "Learn refuses this app's REST calls for now (its daily quota is spent, or it throttles): " +
      'run the doctor again once the window resets',
    unreachable: `check that LMS_URL (${url}) is up and reachable from this machine (DNS, firewall, proxy)`,
    otherShape: 'is LMS_URL a Blackboard Learn site? The REST API answered JSON of another shape',
  });
}
