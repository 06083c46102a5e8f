/**
 * Blackboard Learn's steps of `certharvest doctor`: the user lookup through Learn's REST API (with
 * the app's daily quota), the awards as the site's listing pages show them (read with the doctor's
 * web session and the site profile), and one certificate downloaded from the link its page shows.
 * Learn has no API versions, whoami or bearer `/pdf` route: those steps say so and skip.
 */
import { LoginFailedError, SessionExpiredError, type WebProfile } from '../../browser/index.ts';
import type { Certificate, LmsId } from '../../certificate/index.ts';
import { fail, pass, skip, warn, type Check, type CheckOutcome } from '../../doctor/check.ts';
import { formatBytes } from '../../doctor/setup-checks.ts';
import type { DoctorState } from '../../doctor/state.ts';
import { checkChromium, checkWebLogin, renderFailure, SECOND_LOGIN } from '../../doctor/web-checks.ts';
import { assertWholePdf, MemoryPdfSink } from '../../pdf/index.ts';
import {
  InvalidReferenceError,
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  RateLimitedError,
  UserNotFoundError,
} from '../errors.ts';
import { RedisRateStateStore } from '../fleet-rate-state.ts';
import type { AwardEntry } from '../ports.ts';
import { createBlackboardAdapter } from './adapter.ts';
import { LEARN_API } from './client.ts';
import { DEFAULT_SITE_PROFILE, idNumber, TemplateError, type SiteProfile } from './site-profile.ts';
import type { LearnUser, LearnUserReference } from './types.ts';
import { LEARN_WEB_PROFILE } from './web-profile.ts';

/** What the Learn steps need of the site: how its pages are read, and its web login. */
export interface LearnDoctorSettings {
  profile: SiteProfile;
  webProfile: Pick<WebProfile, 'loggedOutPaths' | 'landingPath'>;
}

/** Users whose awards are listed, at most, to find a certificate to probe (without `--user`). */
export const MAX_PROBED_USERS = 10;

/** Learn's steps, in the order a harvest meets them, between the token and the output checks. */
export function learnDoctorChecks(site: LearnDoctorSettings): readonly Check<DoctorState>[] {
  return [
    { name: 'api versions', needs: ['token'], run: notApplicable.versions },
    { name: 'whoami', needs: ['token'], run: notApplicable.whoami },
    { name: 'chromium', run: checkChromium, timeoutMs: 45_000 },
    // A login may wait for a worker's (90 s) before its own (launch and form, 30 s each).
    {
      name: 'web login',
      needs: ['configuration', 'redis', 'chromium'],
      run: checkWebLogin,
      timeoutMs: 180_000,
    },
    { name: 'user lookup', needs: ['token'], run: (s) => checkLearnUserLookup(s, site) },
    {
      name: 'awards',
      needs: ['user lookup', 'web login'],
      run: (s) => checkLearnAwards(s, site),
      timeoutMs: 180_000,
    },
    { name: 'pdf route', needs: ['awards'], run: notApplicable.pdfRoute },
    { name: 'render', needs: ['web login', 'awards'], run: checkLearnRender, timeoutMs: 150_000 },
  ];
}

/** The three Brightspace checks Learn has nothing to check with. */
export const notApplicable = {
  versions: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no API versions to negotiate (one REST API, /learn/api/public/v1)'),
  whoami: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no whoami route; the user lookup finds the service user by name'),
  pdfRoute: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no REST route for certificates; the render downloads them'),
};

/** How to fix pages that do not read: the profile file, or without one the BB_* variables. */
function pagesFix(profile: SiteProfile): string {
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

type LearnAdapter = ReturnType<typeof createBlackboardAdapter>;

/** What the Learn steps establish for the ones after them (per doctor run). */
interface LearnFindings {
  /** The adapter (REST client, listing pages, downloads) the doctor uses. */
  learn: LearnAdapter | undefined;
  /** The user `--user` named (or the service user). */
  user: LearnUser | undefined;
  /** The certificate to download, from a listing page. */
  certificate: Certificate | undefined;
  /** Every URL the adapter fetched outside the REST API (the pages it read). */
  pageUrls: string[];
}
const findings = new WeakMap<DoctorState, LearnFindings>();
function ofRun(s: DoctorState): LearnFindings {
  let f = findings.get(s);
  if (!f) {
    f = { learn: undefined, user: undefined, certificate: undefined, pageUrls: [] };
    findings.set(s, f);
  }
  return f;
}

const FORBIDDEN_FIX =
  "give the service user's role the permission to open other users' Achievements pages " +
  '(docs/blackboard.md, "To confirm on a real tenant")';

/** The Learn adapter the doctor uses, made once: its REST client spends from the fleet's quota. */
function learnAdapter(s: DoctorState, site: LearnDoctorSettings): LearnAdapter {
  const found = ofRun(s);
  if (found.learn) return found.learn;
  const config = s.config!;
  const { lms } = config;
  const landing = new URL(site.webProfile.landingPath, lms.url).pathname;
  const counted: typeof fetch = (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href, lms.url);
    if (!url.pathname.startsWith(`${LEARN_API}/`) && url.pathname !== landing) found.pageUrls.push(url.href);
    return fetch(input, init);
  };
  found.learn = createBlackboardAdapter({
    lmsUrl: lms.url,
    tokens: s.tokens!,
    session: s.session,
    logger: s.logger,
    fetch: counted,
    // The LMS counts its quota per app: the doctor spends from the fleet's, and counts its calls there.
    rateState: new RedisRateStateStore(s.redis!, config.queuePrefix, lms.host),
    redis: s.redis!,
    prefix: config.queuePrefix,
    profile: site.profile,
    webProfile: site.webProfile,
  });
  return found.learn;
}

/**
 * `--user` (a UserId is `_N_1`, `userName:x`, `orgDefinedId:x` is Learn's externalId), or else the
 * service user by its user name; without `--user`, the first page of the users listing gives users
 * to probe. Then the app's REST calls today against its daily quota, and what Learn said of it.
 */
export async function checkLearnUserLookup(s: DoctorState, site: LearnDoctorSettings): Promise<CheckOutcome> {
  let learn;
  try {
    learn = learnAdapter(s, site);
  } catch (err) {
    if (err instanceof TemplateError) {
      return fail(
        err.message,
        `fix the site profile (${site.profile.source}) or that BB_* variable (docs/blackboard.md)`,
      );
    }
    throw err;
  }
  const client = learn.client;
  const given = s.input.user;
  const serviceUser = s.config!.webLogin?.username;
  const ref: LearnUserReference | undefined =
    given ?? (serviceUser ? { by: 'userName', value: serviceUser } : undefined);
  let user: LearnUser | undefined;
  let said = '';
  let hidden = false;
  if (ref) {
    try {
      user = await client.resolveUser(ref);
      ofRun(s).user = user;
      said = `${describeRef(ref)}${given ? '' : ' (the service user)'} is ${describeUser(user)}`;
    } catch (err) {
      if (err instanceof UserNotFoundError || err instanceof InvalidReferenceError) {
        if (given) {
          return fail(
            err.message,
            'check --user: a UserId, userName:NAME or orgDefinedId:ID (externalId) of this site',
          );
        }
        hidden = true;
        said = `${describeRef(ref)} (the service user) is not found by the lookup`;
      } else {
        return learnFailure(err, s);
      }
    }
  }
  if (given && user) {
    s.candidates = [user.userId];
  } else {
    const candidates: LmsId[] = [];
    try {
      for await (const item of client.listUsers()) {
        const u = item.ok ? item.value : undefined;
        if (u && u.userId !== user?.userId && u.available !== 'No' && u.available !== 'Disabled') {
          candidates.push(u.userId);
        }
        if (candidates.length >= MAX_PROBED_USERS) break;
      }
    } catch (err) {
      const listing = learnFailure(err, s);
      return warn(
        `${said ? `${said}; ` : ''}the users listing failed: ${listing.found}; ${await quotaText(s)}`,
        "`submit --all-users` needs that listing (the integration user's role must see the users); " +
          'meanwhile pass --user to pick the user to probe',
      );
    }
    s.candidates = candidates;
    said += `${said ? '; ' : ''}the users listing answers (${candidates.length} users taken from it to probe)`;
  }
  const found = `${said}; ${await quotaText(s)}`;
  const calls = await client.callsToday();
  if (calls >= client.dailyQuota * 0.8) {
    return warn(
      found,
      "most of the app's daily REST quota is spent: a large batch may stop until the window resets (X-Rate-Limit-Reset)",
    );
  }
  return hidden ? warn(found, 'check a lookup batches use with --user userName:SOMEONE') : pass(found);
}

function describeRef(ref: LearnUserReference): string {
  if (ref.by === 'userId') return `UserId ${ref.value}`;
  return ref.by === 'userName' ? `userName ${ref.value}` : `orgDefinedId (externalId) ${ref.value}`;
}

function describeUser(u: LearnUser): string {
  const name = [u.givenName, u.familyName].filter(Boolean).join(' ');
  const more = [
    `userName ${u.userName}`,
    `externalId ${u.externalId ?? '(none)'}`,
    ...(name ? [clean(name, 40)] : []),
    ...(u.available && u.available !== 'Yes' ? [`available: ${u.available}`] : []),
  ];
  return `${u.id} (${more.join(', ')})`;
}

/** "REST calls today: N of Q", and what the X-Rate-Limit headers said. */
async function quotaText(s: DoctorState): Promise<string> {
  const client = ofRun(s).learn!.client;
  const calls = await client.callsToday();
  const q = client.quota();
  const headers =
    q.limit === undefined && q.remaining === undefined
      ? 'no X-Rate-Limit headers seen'
      : `X-Rate-Limit: ${q.remaining ?? '?'} of ${q.limit ?? '?'} left${
          q.resetAt === undefined ? '' : `, resets in ${formatWait(q.resetAt - Date.now())}`
        }`;
  return `REST calls today: ${calls} of ${client.dailyQuota}; ${headers}`;
}

function formatWait(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes >= 90 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
}

type Refused = Extract<AwardEntry, { ok: false }>;

/**
 * Each probed user's course memberships, then each course's Achievements page (with the doctor's
 * web session): what the pages list, what was refused and why, and the certificate to download.
 */
export async function checkLearnAwards(s: DoctorState, site: LearnDoctorSettings): Promise<CheckOutcome> {
  const learn = ofRun(s).learn!;
  const wanted = s.input.issuedId === undefined ? undefined : String(s.input.issuedId);
  const where = describePages(site.profile);
  const profileFix = pagesFix(site.profile);
  if (s.candidates.length === 0) {
    return warn(`no user to list the awards of; ${where}`, 'pass --user with a user who has a certificate');
  }
  let users = 0;
  let courses = 0;
  let pagesFetched = 0;
  let certificates = 0;
  let badges = 0;
  let others = 0;
  const refusedPages: Refused[] = [];
  const refusedItems: Refused[] = [];
  let pick: Certificate | undefined;
  for (const userId of s.candidates) {
    users++;
    const mark = ofRun(s).pageUrls.length;
    const entries: AwardEntry[] = [];
    try {
      for await (const entry of learn.directory.listAwards(userId)) entries.push(entry);
    } catch (err) {
      return awardsFailure(err, s, userId, site);
    } finally {
      const fetched = new Set(ofRun(s).pageUrls.slice(mark)).size;
      pagesFetched += fetched;
      courses += fetched;
    }
    const mine: Certificate[] = [];
    for (const entry of entries) {
      if (!entry.ok) {
        if (entry.ref.startsWith('membership ')) courses++;
        // A whole page refused is `course _N_1`; an item on a page, `course _N_1 achievement "…"`.
        else (/^course \S+$/.test(entry.ref) ? refusedPages : refusedItems).push(entry);
      } else if (entry.kind === 'certificate') mine.push(entry.certificate);
      else if (entry.kind === 'badge') badges++;
      else others++;
    }
    certificates += mine.length;
    // --issued-id is the achievement id as the page shows it, or N for `_N_1`.
    pick =
      wanted === undefined
        ? mine[0]
        : mine.find((c) => String(c.issuedId) === wanted || String(idNumber(c.issuedId)) === wanted);
    if (wanted !== undefined && !pick) {
      const ids = mine.map((c) => String(c.issuedId)).join(', ');
      return fail(
        `user ${String(userId)} has no certificate with achievement id ${wanted} ` +
          `(its certificates: ${ids || 'none'}); ${where}`,
        "--issued-id must be one of the --user's certificates (the achievement id as the page shows it, e.g. _901_1, or N of _N_1)",
      );
    }
    if (pick) break;
    // Every page refused so far (a wrong achievements.url, no permission): others' would be too.
    if (pagesFetched > 0 && refusedPages.length === pagesFetched) break;
  }
  const pagesRead = pagesFetched - refusedPages.length;
  const whose = users === 1 ? `user ${String(s.candidates[0]!)}` : `${users} users`;
  const counts =
    `${whose}: ${plural(courses, 'course')} (memberships), ${plural(pagesRead, 'Achievements page')} read` +
    `${refusedPages.length ? ` (${refusedPages.length} refused, first: ${describeRefused(refusedPages[0]!)})` : ''}; ` +
    `${plural(certificates, 'certificate')}, ${plural(badges, 'badge')}` +
    `${others ? `, ${others} other` : ''}, ${plural(refusedItems.length, 'refused item')}` +
    `${refusedItems.length ? ` (first: ${describeRefused(refusedItems[0]!)})` : ''}`;
  if (pick) {
    ofRun(s).certificate = pick;
    const found = `${counts}; ${where}; probing ${describeCertificate(pick)}`;
    if (refusedItems.length > 0 || refusedPages.length > 0) {
      return warn(
        found,
        'a refused item or page fails alone, with its code, in a harvest; the other certificates download' +
          (refusedPages.length > 0
            ? `; for the refused pages, ${refusedPageFix(refusedPages, site.profile)}`
            : ''),
      );
    }
    return pass(found);
  }
  const items = certificates + badges + others + refusedItems.length;
  if (courses === 0) {
    return warn(
      `${counts}: no course memberships to read pages of; ${where}`,
      'pass --user with a user enrolled in a course that issues certificates',
    );
  }
  if (items === 0 && pagesRead === 0) {
    return fail(
      `${counts}: no listing page could be read; ${where}`,
      refusedPageFix(refusedPages, site.profile),
    );
  }
  if (items === 0) {
    const found = `${counts}: the pages list no achievement items at all; ${where}`;
    return s.input.user
      ? warn(found, `pass --user with a user who has a certificate; if this one has, ${profileFix}`)
      : fail(found, profileFix);
  }
  return warn(
    `${counts}: no certificate among them, the render is not probed; ${where}`,
    'pass --user with a user who has a certificate (and --issued-id to pick one); if the pages do ' +
      "show certificates, check the profile's fields.link and kinds (an item without a link, whose " +
      'kind is not a certificate, is a badge): `certharvest inspect` shows what each item gives',
  );
}

function refusedPageFix(refused: Refused[], profile: SiteProfile): string {
  return refused.length > 0 && refused.every((r) => r.code === 'ACHIEVEMENTS_FORBIDDEN')
    ? FORBIDDEN_FIX
    : pagesFix(profile);
}

function describePages(profile: SiteProfile): string {
  const a = profile.achievements;
  const fields = Object.entries(a.fields)
    .map(([name, specs]) => `${name} ${specs?.[0]?.selector ?? '(the item)'}`)
    .join(', ');
  // Without a profile file, the listing URL is the default or BB_ACHIEVEMENTS_URL.
  const from =
    profile.source === 'default'
      ? `BB_ACHIEVEMENTS_URL ${a.url}`
      : `achievements.url ${a.url} (site profile ${profile.source})`;
  return `pages from ${from}; item ${a.item}; fields: ${fields}`;
}

function describeRefused(r: Refused): string {
  return `${clean(r.ref, 60)}: ${r.code}, ${clean(r.reason, 160)}`;
}

function describeCertificate(c: Certificate): string {
  return `achievement ${String(c.issuedId)} in course ${String(c.orgUnitId)} ("${clean(c.title, 40)}")`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Printable and short: a page's text may hold anything. */
function clean(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function awardsFailure(err: unknown, s: DoctorState, userId: LmsId, site: LearnDoctorSettings): CheckOutcome {
  const landing = site.webProfile.landingPath;
  if ((err instanceof LoginFailedError && err.code === SECOND_LOGIN) || err instanceof SessionExpiredError) {
    return fail(
      `the listing page answered as logged out to the session the doctor had just logged in; ${describePages(site.profile)}`,
      `check that LMS_LOGIN_LANDING (${landing}) is a page only a logged-in user gets, and ${pagesFix(site.profile)}`,
    );
  }
  if (err instanceof UserNotFoundError) {
    return fail(
      `the course memberships of user ${String(userId)} answered 404: ${err.message}`,
      `check that LMS_URL (${s.config!.lms.url}) is the Learn site's base URL`,
    );
  }
  return learnFailure(err, s);
}

/** What a Learn REST call's failure means, and its likely fix. */
export function learnFailure(err: unknown, s: DoctorState): CheckOutcome {
  const url = s.config?.lms.url ?? '?';
  if (err instanceof LmsRequestError) {
    if (err.code === 'LMS_UNAUTHORIZED' || err.status === 401) {
      return fail(
        err.message,
        'check that the REST integration of OAUTH_CLIENT_ID is on in Learn (System Admin, REST API ' +
          'Integrations), with a user whose role may read users and courses',
      );
    }
    if (err.status === 403) {
      return fail(
        err.message,
        "give the integration's user (System Admin, REST API Integrations) a role that may read users and their courses",
      );
    }
    if (err.status === 404)
      return fail(err.message, `check that LMS_URL (${url}) is the Learn site's base URL`);
    return fail(err.message);
  }
  if (err instanceof RateLimitedError) {
    return fail(
      err.message,
      "Learn refuses this app's REST calls for now (its daily quota is spent, or it throttles): " +
        'run the doctor again once the window resets',
    );
  }
  if (err instanceof LmsUnavailableError) {
    return fail(
      err.message,
      `check that LMS_URL (${url}) is up and reachable from this machine (DNS, firewall, proxy)`,
    );
  }
  if (err instanceof LmsDataError) {
    return fail(
      err.message,
      'is LMS_URL a Blackboard Learn site? The REST API answered JSON of another shape',
    );
  }
  throw err;
}

/** The chosen certificate, from the link its page showed, with the doctor's session: a whole PDF. */
export async function checkLearnRender(s: DoctorState): Promise<CheckOutcome> {
  const { learn, certificate } = ofRun(s);
  if (!s.session || !learn) return skip('no web session to download with');
  if (!certificate) return skip('no certificate to download (see awards)');
  const what = `the link shown for ${String(certificate.issuedId)} in course ${String(certificate.orgUnitId)}`;
  const sink = new MemoryPdfSink();
  try {
    const facts = await learn.fetcher.viaBrowser(certificate, sink, (line) => s.logger.debug(line));
    assertWholePdf(sink.evidence, facts);
    return pass(
      `${what}: ` +
        `${facts.contentType ?? 'no Content-Type'}, ${formatBytes(sink.evidence.length)}, a whole PDF`,
    );
  } catch (err) {
    const outcome = renderFailure(err, what, s);
    return {
      ...outcome,
      fix:
        `${outcome.fix ?? 'run the doctor again'}; and check what the certificate link answers with ` +
        '`certharvest inspect --user USER --course COURSE` (docs/blackboard.md)',
    };
  }
}

/**
 * The steps for a site read with the default profile (no LMS_SITE_PROFILE). A site with a profile
 * file needs `learnDoctorChecks({ profile, webProfile })`.
 */
export const LEARN_DOCTOR_CHECKS: readonly Check<DoctorState>[] = learnDoctorChecks({
  profile: DEFAULT_SITE_PROFILE,
  webProfile: LEARN_WEB_PROFILE,
});
