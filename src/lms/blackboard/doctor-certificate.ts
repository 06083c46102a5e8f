/**
 * Learn's doctor steps on one certificate: the awards as the site's listing pages show them (read
 * with the doctor's web session and the site profile), and the certificate downloaded from the
 * link its page shows.
 */
import type { Certificate, LmsId } from '../../certificate/index.ts';
import { fail, pass, skip, warn, type CheckOutcome } from '../../doctor/check.ts';
import { answeredLoggedOut, renderFailure } from '../../doctor/render-failure.ts';
import { formatBytes } from '../../doctor/setup-checks.ts';
import type { DoctorState } from '../../doctor/state.ts';
import { assertWholePdf, MemoryPdfSink } from '../../pdf/index.ts';
import { UserNotFoundError } from '../errors.ts';
import type { AwardEntry } from '../ports.ts';
import {
  clean,
  findingsOf,
  learnFailure,
  madeAdapter,
  pagesFix,
  type LearnDoctorSettings,
} from './doctor-findings.ts';
import { idNumber, type SiteProfile } from './site-profile.ts';

type Refused = Extract<AwardEntry, { ok: false }>;
type LearnAdapter = ReturnType<typeof madeAdapter>;

const FORBIDDEN_FIX =
  "give the service user's role the permission to open other users' Achievements pages " +
  '(docs/blackboard.md, "To confirm on a real tenant")';

/** What the listing pages gave, over the users looked at. */
interface AwardsTally {
  users: number;
  /** Course memberships (each read page is one). */
  courses: number;
  pagesFetched: number;
  certificates: number;
  badges: number;
  others: number;
  refusedPages: Refused[];
  refusedItems: Refused[];
  /** The certificate to download. */
  pick: Certificate | undefined;
}

/**
 * Each probed user's course memberships, then each course's Achievements page (with the doctor's
 * web session): what the pages list, what was refused and why, and the certificate to download.
 */
export async function checkLearnAwards(s: DoctorState, site: LearnDoctorSettings): Promise<CheckOutcome> {
  const learn = madeAdapter(s);
  const where = describePages(site.profile);
  if (s.candidates.length === 0) {
    return warn(`no user to list the awards of; ${where}`, 'pass --user with a user who has a certificate');
  }
  const tally = await readAwards(s, learn, site, where);
  if ('ok' in tally) return tally;
  const counts = describeCounts(tally, s.candidates[0]);
  if (tally.pick) {
    findingsOf(s).certificate = tally.pick;
    return certificateFound(tally, tally.pick, `${counts}; ${where}`, site.profile);
  }
  return noCertificate(tally, counts, where, {
    profile: site.profile,
    userGiven: s.input.user !== undefined,
  });
}

/** The candidates' listing pages, user after user, until a certificate (or `--issued-id`'s) is found. */
async function readAwards(
  s: DoctorState,
  learn: LearnAdapter,
  site: LearnDoctorSettings,
  where: string,
): Promise<AwardsTally | CheckOutcome> {
  const wanted = s.input.issuedId === undefined ? undefined : String(s.input.issuedId);
  const { pageUrls } = findingsOf(s);
  const t: AwardsTally = {
    users: 0,
    courses: 0,
    pagesFetched: 0,
    certificates: 0,
    badges: 0,
    others: 0,
    refusedPages: [],
    refusedItems: [],
    pick: undefined,
  };
  for (const userId of s.candidates) {
    t.users++;
    const mark = pageUrls.length;
    const entries: AwardEntry[] = [];
    try {
      for await (const entry of learn.directory.listAwards(userId)) entries.push(entry);
    } catch (err) {
      return awardsFailure(err, s, userId, site);
    } finally {
      const fetched = new Set(pageUrls.slice(mark)).size;
      t.pagesFetched += fetched;
      t.courses += fetched;
    }
    const mine = tallyEntries(entries, t);
    // --issued-id is the achievement id as the page shows it, or N for `_N_1`.
    t.pick =
      wanted === undefined
        ? mine[0]
        : mine.find((c) => String(c.issuedId) === wanted || String(idNumber(c.issuedId)) === wanted);
    if (wanted !== undefined && !t.pick) {
      const ids = mine.map((c) => String(c.issuedId)).join(', ');
      return fail(
        `user ${String(userId)} has no certificate with achievement id ${wanted} ` +
          `(its certificates: ${ids || 'none'}); ${where}`,
        "--issued-id must be one of the --user's certificates (the achievement id as the page shows it, e.g. _901_1, or N of _N_1)",
      );
    }
    if (t.pick) break;
    // Every page refused so far (a wrong achievements.url, no permission): others' would be too.
    if (t.pagesFetched > 0 && t.refusedPages.length === t.pagesFetched) break;
  }
  return t;
}

/** Count one user's entries into `t`; returns the user's certificates. */
function tallyEntries(entries: readonly AwardEntry[], t: AwardsTally): Certificate[] {
  const mine: Certificate[] = [];
  for (const entry of entries) {
    if (!entry.ok) {
      if (entry.ref.startsWith('membership ')) t.courses++;
      // A whole page refused is `course _N_1`; an item on a page, `course _N_1 achievement "…"`.
      else (/^course \S+$/.test(entry.ref) ? t.refusedPages : t.refusedItems).push(entry);
    } else if (entry.kind === 'certificate') mine.push(entry.certificate);
    else if (entry.kind === 'badge') t.badges++;
    else t.others++;
  }
  t.certificates += mine.length;
  return mine;
}

function describeCounts(t: AwardsTally, firstUser: LmsId | undefined): string {
  const pagesRead = t.pagesFetched - t.refusedPages.length;
  const whose = t.users === 1 ? `user ${String(firstUser ?? '?')}` : `${t.users} users`;
  const [firstPage] = t.refusedPages;
  const [firstItem] = t.refusedItems;
  return (
    `${whose}: ${plural(t.courses, 'course')} (memberships), ${plural(pagesRead, 'Achievements page')} read` +
    `${firstPage ? ` (${t.refusedPages.length} refused, first: ${describeRefused(firstPage)})` : ''}; ` +
    `${plural(t.certificates, 'certificate')}, ${plural(t.badges, 'badge')}` +
    `${t.others ? `, ${t.others} other` : ''}, ${plural(t.refusedItems.length, 'refused item')}` +
    `${firstItem ? ` (first: ${describeRefused(firstItem)})` : ''}`
  );
}

function certificateFound(
  t: AwardsTally,
  pick: Certificate,
  said: string,
  profile: SiteProfile,
): CheckOutcome {
  const found = `${said}; probing ${describeCertificate(pick)}`;
  if (t.refusedItems.length === 0 && t.refusedPages.length === 0) return pass(found);
  return warn(
    found,
    'a refused item or page fails alone, with its code, in a harvest; the other certificates download' +
      (t.refusedPages.length > 0
        ? `; for the refused pages, ${refusedPageFix(t.refusedPages, profile)}`
        : ''),
  );
}

/** No certificate to probe: why, as far as the counts tell. */
function noCertificate(
  t: AwardsTally,
  counts: string,
  where: string,
  options: { profile: SiteProfile; userGiven: boolean },
): CheckOutcome {
  const profileFix = pagesFix(options.profile);
  const items = t.certificates + t.badges + t.others + t.refusedItems.length;
  if (t.courses === 0) {
    return warn(
      `${counts}: no course memberships to read pages of; ${where}`,
      'pass --user with a user enrolled in a course that issues certificates',
    );
  }
  if (items === 0 && t.pagesFetched - t.refusedPages.length === 0) {
    return fail(
      `${counts}: no listing page could be read; ${where}`,
      refusedPageFix(t.refusedPages, options.profile),
    );
  }
  if (items === 0) {
    const found = `${counts}: the pages list no achievement items at all; ${where}`;
    return options.userGiven
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

function awardsFailure(err: unknown, s: DoctorState, userId: LmsId, site: LearnDoctorSettings): CheckOutcome {
  const landing = site.webProfile.landingPath;
  if (answeredLoggedOut(err)) {
    return fail(
      `the listing page answered as logged out to the session the doctor had just logged in; ${describePages(site.profile)}`,
      `check that LMS_LOGIN_LANDING (${landing}) is a page only a logged-in user gets, and ${pagesFix(site.profile)}`,
    );
  }
  if (err instanceof UserNotFoundError) {
    return fail(
      `the course memberships of user ${String(userId)} answered 404: ${err.message}`,
      `check that LMS_URL (${s.part('config')?.lms.url ?? '?'}) is the Learn site's base URL`,
    );
  }
  return learnFailure(err, s);
}

/** The chosen certificate, from the link its page showed, with the doctor's session: a whole PDF. */
export async function checkLearnRender(s: DoctorState): Promise<CheckOutcome> {
  const { config } = s.need('config');
  const { learn, certificate } = findingsOf(s);
  if (!s.part('session') || !learn) return skip('no web session to download with');
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
    const outcome = renderFailure(err, what, config.webSession.profile.landingPath);
    return {
      ...outcome,
      fix:
        `${outcome.fix ?? 'run the doctor again'}; and check what the certificate link answers with ` +
        '`certharvest inspect --user USER --course COURSE` (docs/blackboard.md)',
    };
  }
}
