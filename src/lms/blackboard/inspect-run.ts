/**
 * `certharvest inspect` for Learn: the user from the REST API, then each course's listing page
 * read with the fleet's web session and the site profile (inspect.ts says what the profile
 * extracts, and what the page offers instead when nothing matches), then what each certificate's
 * download link answers. Nothing is stored.
 */
import {
  isLoggedOutUrl,
  probeUrl,
  type UrlProbe,
  type WebProfile,
  type WebSession,
} from '../../browser/index.ts';
import type { AdapterContext, InspectReport, InspectTarget } from '../module.ts';
import { LmsDataError, LmsRequestError } from '../errors.ts';
import { achievementsPageUrl } from './achievements-page.ts';
import type { LearnClient } from './client.ts';
import { inspectAchievementsPage, type InspectResult } from './inspect.ts';
import { getSessionPage } from './session-page.ts';
import type { SiteProfile } from './site-profile.ts';

/** Courses looked at without --course. */
const MAX_COURSES = 5;
/** Download links probed per page. */
const MAX_PROBES = 3;

/** A listing page as inspect read it, with what its download links answered. */
type InspectedPage = InspectResult & { courseRef: string; probes: UrlProbe[] };

/** What reading one course's listing page takes. */
interface PageReader {
  session: WebSession;
  origin: string;
  profile: SiteProfile;
  webProfile: WebProfile;
  userRef: string;
  /** --issued-id: only that certificate's link is probed. */
  issuedId: string | undefined;
}

export async function inspectLearn(
  context: AdapterContext,
  target: InspectTarget,
  site: { profile: SiteProfile; webProfile: WebProfile; client: LearnClient },
): Promise<InspectReport> {
  const { profile, webProfile, client } = site;
  const session = context.webSession;
  const lines: string[] = [`site profile: ${profile.source}`];
  if (!session) {
    lines.push(
      'no web session: set LMS_USERNAME and LMS_PASSWORD (Learn shows certificates only on its pages)',
    );
    return { matched: false, lines, data: { profile: profile.source } };
  }
  const user = await client.resolveUser(target.user);
  lines.push(`user: ${target.user.by} ${target.user.value} is ${user.userId} (${user.userName})`);
  const courses = await coursesToRead(client, user.userId, target, lines);
  const origin = new URL(context.lmsUrl).origin;
  const reader: PageReader = {
    session,
    origin,
    profile,
    webProfile,
    userRef: user.userId,
    issuedId: target.issuedId,
  };
  const pages: InspectedPage[] = [];
  const unread: { courseRef: string; pageUrl: string; error: string }[] = [];
  for (const courseRef of courses) {
    const url = achievementsPageUrl(origin, profile, { userRef: user.userId, courseRef });
    let result: InspectedPage;
    try {
      result = await readCoursePage(reader, url, courseRef);
    } catch (error) {
      // A page that cannot be read (404, 403, not HTML) is this course's finding, not the end.
      if (!(error instanceof LmsRequestError || error instanceof LmsDataError)) throw error;
      unread.push({ courseRef, pageUrl: url.href, error: error.message });
      lines.push(
        `course ${courseRef}: ${url.href}`,
        `  the listing page could not be read: ${error.message}`,
        `  is achievements.url (${profile.source}) this site's listing page? Open it as the service user in a browser, and copy its address into the profile`,
      );
      continue;
    }
    pages.push(result);
    lines.push(...describePage(result));
  }
  const matched = judge(pages, target.issuedId, lines);
  return {
    matched,
    lines,
    data: { profile: profile.source, user: { userId: user.userId, userName: user.userName }, pages, unread },
  };
}

/** `--course`, or the user's first memberships (said in `lines`). */
async function coursesToRead(
  client: LearnClient,
  userId: string,
  target: InspectTarget,
  lines: string[],
): Promise<string[]> {
  if (target.course) return [target.course];
  const courses: string[] = [];
  for await (const m of client.listMemberships(userId)) {
    if (m.ok) courses.push(m.value.orgUnitId);
    if (courses.length >= MAX_COURSES) break;
  }
  lines.push(
    `courses: ${courses.length ? courses.join(', ') : 'none'} (the first ${MAX_COURSES} memberships; pick one with --course)`,
  );
  return courses;
}

/** One course's listing page with the session: what the profile reads, and its links' answers. */
async function readCoursePage(r: PageReader, url: URL, courseRef: string): Promise<InspectedPage> {
  const { profile, webProfile } = r;
  return r.session.withSession(async (credentials) => {
    const page = await getSessionPage(url, credentials, `GET ${url.pathname}`, {
      lmsUrl: r.origin,
      maxBytes: profile.maxPageBytes,
      loginUrlPatterns: webProfile.loggedOutPaths,
      landingPath: webProfile.landingPath,
    });
    if (page === 'logged-out') return 'logged-out';
    const inspected = inspectAchievementsPage({
      html: page.html,
      pageUrl: page.url,
      profile,
      userRef: r.userRef,
      courseRef,
    });
    if (inspected.loginPage) return 'logged-out';
    const probes: UrlProbe[] = [];
    for (const item of inspected.items) {
      if (item.outcome !== 'certificate' || !item.download || probes.length >= MAX_PROBES) continue;
      if (r.issuedId !== undefined && item.fields.id?.value !== r.issuedId) continue;
      probes.push(await probeUrl(item.download, credentials, { loggedOutPaths: webProfile.loggedOutPaths }));
    }
    if (probes.some((p) => p.meaning === 'expired' && isLoggedOutUrl(webProfile, p.location ?? p.url))) {
      return 'logged-out';
    }
    return { ...inspected, courseRef, probes };
  });
}

/** Whether something harvestable matched (and `--issued-id`'s certificate was seen); says why not. */
function judge(pages: InspectedPage[], wanted: string | undefined, lines: string[]): boolean {
  const found =
    wanted === undefined ||
    pages.some((p) => p.items.some((i) => i.outcome === 'certificate' && i.fields.id?.value === wanted));
  if (!found) lines.push(`no certificate with id ${wanted} on these pages (ids as the profile reads them)`);
  const matched = found && pages.some((p) => p.matches && p.probes.some((probe) => probe.looksLikePdf));
  if (!matched && pages.some((p) => !p.matches)) {
    lines.push(
      'nothing harvestable matched: fit LMS_SITE_PROFILE to the candidates above (docs/blackboard.md), then run inspect again',
    );
  }
  return matched;
}

function describePage(p: InspectedPage): string[] {
  const out = [
    `course ${p.courseRef}: ${p.pageUrl}`,
    `  item selector ${JSON.stringify(p.itemSelector)}: ${p.itemsFound} item(s) — ` +
      `${p.summary.certificates} certificate(s), ${p.summary.badges} badge(s), ${p.summary.refused} refused`,
  ];
  for (const item of p.items) {
    const fields = Object.entries(item.fields)
      .map(([name, r]) => `${name}=${JSON.stringify(r?.value ?? null)}${r?.error ? ` (${r.error})` : ''}`)
      .join(', ');
    out.push(`  #${item.index} ${item.outcome}${item.reason ? `: ${item.reason}` : ''}`);
    if (fields) out.push(`     ${fields}`);
    if (item.download) out.push(`     download: ${item.download}`);
  }
  for (const probe of p.probes) out.push(`  link ${new URL(probe.url).pathname}: ${describeProbe(probe)}`);
  if (p.candidates) {
    out.push('  candidates (what the page offers to fit the profile to):');
    for (const c of p.candidates.repeated) {
      out.push(`    ${c.count} × ${c.selector}  text ${JSON.stringify(c.sampleText)}`);
      for (const a of c.attributes)
        out.push(`        @${a.name}: ${a.samples.map((s) => JSON.stringify(s)).join(', ')}`);
    }
    for (const l of p.candidates.links) {
      out.push(
        `    ${l.count} link(s) ${l.path}${l.query.length ? `?${l.query.map((q) => `${q}=…`).join('&')}` : ''}  (${l.selector})`,
      );
      for (const s of l.samples) out.push(`        ${s}`);
    }
  }
  return out;
}

function describeProbe(p: UrlProbe): string {
  if (p.status === undefined) return `no answer (${p.error ?? p.meaning})`;
  const type = p.contentType ? `, ${p.contentType}` : '';
  return `HTTP ${p.status}${type}: ${p.looksLikePdf ? 'a PDF' : p.meaning} (starts "${p.firstBytes.slice(0, 24)}")`;
}
