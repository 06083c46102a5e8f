/**
 * The doctor's checks for Blackboard Learn (LMS=blackboard): the user lookup through Learn's REST
 * API (with the app's daily quota), the awards as the Achievements pages list them (read with the
 * doctor's web session), and one certificate downloaded through BB_CERTIFICATE_URL.
 */
import { LoginFailedError, SessionExpiredError } from '../browser/index.ts';
import type { Certificate } from '../certificate/index.ts';
import {
  certificateDownloadUrl,
  createBlackboardAdapter,
  DEFAULT_ACHIEVEMENT_SELECTORS,
  DEFAULT_ACHIEVEMENTS_URL,
  DEFAULT_CERTIFICATE_URL,
  InvalidReferenceError,
  LEARN_API,
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  RateLimitedError,
  RedisRateStateStore,
  toLearnId,
  UserNotFoundError,
  type AwardEntry,
  type LearnUser,
  type LearnUserReference,
} from '../lms/index.ts';
import { assertWholePdf, MemoryPdfSink } from '../pdf/index.ts';
import { fail, pass, skip, warn, type CheckOutcome } from './check.ts';
import { formatBytes } from './setup-checks.ts';
import type { DoctorState } from './state.ts';
import { MAX_PROBED_USERS } from './api-checks.ts';
import { renderFailure, SECOND_LOGIN } from './web-checks.ts';

/** The three Brightspace checks Learn has nothing to check with. */
export const notApplicable = {
  versions: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no API versions to negotiate (one REST API, /learn/api/public/v1)'),
  whoami: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no whoami route; the user lookup finds the service user by name'),
  pdfRoute: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no REST route for certificates; the render downloads them'),
};

export const BB_PAGES_FIX =
  'check BB_ACHIEVEMENTS_URL and the BB_*_SELECTOR variables (BB_ACHIEVEMENT_SELECTOR, ' +
  'BB_CERTIFICATE_LINK_SELECTOR, BB_TITLE_SELECTOR, BB_ISSUED_SELECTOR) against an Achievements ' +
  'page opened as the service user in a browser (docs/blackboard.md)';

const FORBIDDEN_FIX =
  "give the service user's role the permission to open other users' Achievements pages " +
  '(docs/blackboard.md, "To confirm on a real tenant")';

/** The Learn adapter the doctor uses, made once: its REST client spends from the fleet's quota. */
function learnAdapter(s: DoctorState): NonNullable<DoctorState['learn']> {
  if (s.learn) return s.learn;
  const config = s.config!;
  const { lms } = config;
  const landing = new URL(config.webSession.landingPath, lms.url).pathname;
  const counted: typeof fetch = (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href, lms.url);
    if (!url.pathname.startsWith(`${LEARN_API}/`) && url.pathname !== landing) s.learnPageUrls.push(url.href);
    return fetch(input, init);
  };
  s.learn = createBlackboardAdapter({
    lmsUrl: lms.url,
    tokens: s.tokens!,
    session: s.session,
    logger: s.logger,
    fetch: counted,
    // The LMS counts its quota per app: the doctor spends from the fleet's, and counts its calls there.
    rateState: new RedisRateStateStore(s.redis!, config.queuePrefix, lms.host),
    redis: s.redis!,
    prefix: config.queuePrefix,
    pages: {
      ...lms.blackboardPages,
      loginUrlPatterns: config.webSession.loginUrlPatterns,
      landingPath: config.webSession.landingPath,
    },
  });
  return s.learn;
}

/**
 * `--user` (a UserId is `_N_1`, `userName:x`, `orgDefinedId:x` is Learn's externalId), or else the
 * service user by its user name; without `--user`, the first page of the users listing gives users
 * to probe. Then the app's REST calls today against its daily quota, and what Learn said of it.
 */
export async function checkLearnUserLookup(s: DoctorState): Promise<CheckOutcome> {
  let learn;
  try {
    learn = learnAdapter(s);
  } catch (err) {
    if (err instanceof TypeError) {
      return fail(
        err.message,
        'fix that BB_* variable (docs/blackboard.md, "Reading the Achievements pages")',
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
      s.learnUser = user;
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
    const candidates: number[] = [];
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
  const client = s.learn!.client;
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
export async function checkLearnAwards(s: DoctorState): Promise<CheckOutcome> {
  const learn = s.learn!;
  const wanted = s.input.issuedId;
  const where = describePages(s);
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
    const mark = s.learnPageUrls.length;
    const entries: AwardEntry[] = [];
    try {
      for await (const entry of learn.directory.listAwards(userId)) entries.push(entry);
    } catch (err) {
      return awardsFailure(err, s, userId);
    } finally {
      const fetched = new Set(s.learnPageUrls.slice(mark)).size;
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
    pick = wanted === undefined ? mine[0] : mine.find((c) => c.issuedId === wanted);
    if (wanted !== undefined && !pick) {
      const ids = mine.map((c) => toLearnId(c.issuedId)).join(', ');
      return fail(
        `user ${toLearnId(userId)} has no certificate with achievement id ${toLearnId(wanted)} ` +
          `(its certificates: ${ids || 'none'}); ${where}`,
        "--issued-id must be one of the --user's certificates (N of the achievement id _N_1)",
      );
    }
    if (pick) break;
    // Every page refused so far (a wrong BB_ACHIEVEMENTS_URL, no permission): others' would be too.
    if (pagesFetched > 0 && refusedPages.length === pagesFetched) break;
  }
  const pagesRead = pagesFetched - refusedPages.length;
  const whose = users === 1 ? `user ${toLearnId(s.candidates[0]!)}` : `${users} users`;
  const counts =
    `${whose}: ${plural(courses, 'course')} (memberships), ${plural(pagesRead, 'Achievements page')} read` +
    `${refusedPages.length ? ` (${refusedPages.length} refused, first: ${describeRefused(refusedPages[0]!)})` : ''}; ` +
    `${plural(certificates, 'certificate')}, ${plural(badges, 'badge')}` +
    `${others ? `, ${others} other` : ''}, ${plural(refusedItems.length, 'refused item')}` +
    `${refusedItems.length ? ` (first: ${describeRefused(refusedItems[0]!)})` : ''}`;
  if (pick) {
    s.learnCertificate = pick;
    const found = `${counts}; ${where}; probing ${describeCertificate(pick)}`;
    if (refusedItems.length > 0 || refusedPages.length > 0) {
      return warn(
        found,
        'a refused item or page fails alone, with its code, in a harvest; the other certificates download' +
          (refusedPages.length > 0 ? `; for the refused pages, ${refusedPageFix(refusedPages)}` : ''),
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
    return fail(`${counts}: no Achievements page could be read; ${where}`, refusedPageFix(refusedPages));
  }
  if (items === 0) {
    const found = `${counts}: the pages list no achievement items at all; ${where}`;
    return s.input.user
      ? warn(found, `pass --user with a user who has a certificate; if this one has, ${BB_PAGES_FIX}`)
      : fail(found, BB_PAGES_FIX);
  }
  return warn(
    `${counts}: no certificate among them, the render is not probed; ${where}`,
    'pass --user with a user who has a certificate (and --issued-id to pick one); if the pages do ' +
      'show certificates, check BB_CERTIFICATE_LINK_SELECTOR (an item without that link is a badge)',
  );
}

function refusedPageFix(refused: Refused[]): string {
  return refused.length > 0 && refused.every((r) => r.code === 'ACHIEVEMENTS_FORBIDDEN')
    ? FORBIDDEN_FIX
    : BB_PAGES_FIX;
}

function describePages(s: DoctorState): string {
  const pages = s.config!.lms.blackboardPages;
  const template = pages?.achievementsUrl ?? DEFAULT_ACHIEVEMENTS_URL;
  const sel = pages?.selectors ?? DEFAULT_ACHIEVEMENT_SELECTORS;
  return (
    `pages from BB_ACHIEVEMENTS_URL ${template}; selectors: item ${sel.achievement}, ` +
    `link ${sel.certificateLink}, title ${sel.title}, issued ${sel.issued}`
  );
}

function describeRefused(r: Refused): string {
  return `${clean(r.ref, 60)}: ${r.code}, ${clean(r.reason, 160)}`;
}

function describeCertificate(c: Certificate): string {
  return `achievement ${toLearnId(c.issuedId)} in course ${toLearnId(c.orgUnitId)} ("${clean(c.title, 40)}")`;
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

function awardsFailure(err: unknown, s: DoctorState, userId: number): CheckOutcome {
  const landing = s.config!.webSession.landingPath;
  if ((err instanceof LoginFailedError && err.code === SECOND_LOGIN) || err instanceof SessionExpiredError) {
    return fail(
      `the Achievements page answered as logged out to the session the doctor had just logged in; ${describePages(s)}`,
      `check that LMS_LOGIN_LANDING (${landing}) is a page only a logged-in user gets, and ${BB_PAGES_FIX}`,
    );
  }
  if (err instanceof UserNotFoundError) {
    return fail(
      `the course memberships of user ${toLearnId(userId)} answered 404: ${err.message}`,
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

/** The chosen certificate through BB_CERTIFICATE_URL with the doctor's session: a whole PDF. */
export async function checkLearnRender(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  if (!s.session || !s.learn) return skip('no web session to download with');
  const certificate = s.learnCertificate;
  if (!certificate) return skip('no certificate to download (see awards)');
  const template = config.lms.blackboardPages?.certificateUrl ?? DEFAULT_CERTIFICATE_URL;
  const path = certificateDownloadUrl(config.lms.url, template, certificate).pathname;
  const sink = new MemoryPdfSink();
  try {
    const facts = await s.learn.fetcher.viaBrowser(certificate, sink, (line) => s.logger.debug(line));
    assertWholePdf(sink.evidence, facts);
    return pass(
      `BB_CERTIFICATE_URL ${path} for ${toLearnId(certificate.issuedId)}: ` +
        `${facts.contentType ?? 'no Content-Type'}, ${formatBytes(sink.evidence.length)}, a whole PDF`,
    );
  } catch (err) {
    const outcome = renderFailure(err, path, s);
    return {
      ...outcome,
      found: `BB_CERTIFICATE_URL ${template}: ${outcome.found}`,
      fix:
        `${outcome.fix ?? 'run the doctor again'}; and check BB_CERTIFICATE_URL against the ` +
        'certificate link on the Achievements page (docs/blackboard.md)',
    };
  }
}
