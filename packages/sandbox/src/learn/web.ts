import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Request, type Response, Router, urlencoded } from 'express';
import { fromBasDate } from '../dates.ts';
import { type FaultInjector, sendPdf } from '../faults.ts';
import { errorPage, forbiddenPage, notFoundPage } from '../html.ts';
import { streamHugeBody } from '../huge-body.ts';
import { AwardType, type Institution, type SandboxAward, type SandboxUser } from '../institution.ts';
import type { KnobBox } from '../knobs.ts';
import type { SandboxCertificateStore } from '../pdf.ts';
import type { SandboxStats } from '../stats.ts';
import { safeTarget, sendHtml } from '../web-common.ts';
import {
  ACHIEVEMENTS_PATH,
  type AchievementItem,
  achievementsPage,
  BAD_CREDENTIALS_MESSAGE,
  CERTIFICATE_DOWNLOAD_PATH,
  LEARN_LANDING_PATH,
  LEARN_LOGIN_PATH,
  learnLoginPage,
  NONCE_EXPIRED_MESSAGE,
  NONCE_FIELD,
  streamPage,
  TABLE_ACHIEVEMENTS_PATH,
  TABLE_CERTIFICATE_PATH,
  tableAchievementsPage,
} from './html.ts';
import { learnId, type LearnIds } from './ids.ts';
import { LEARN_SESSION_COOKIE, type LearnSessionStore, NonceStore } from './sessions.ts';

/** Hostile data (`learnHostile`, `learnHostileUserIds`): achievement ids no id may be (path, markup). */
export const HOSTILE_MALFORMED_IDS: readonly string[] = ['../_12_1', '_12_1;x'];
/** Hostile data: the title given to the first real certificate of a hostile page. */
export const HOSTILE_TITLE = `<script>alert("certharvest")</script><img src=x onerror="alert(1)"> Certificate & <b>more</b>`;
/** Hostile data: the (never real) IssuedId of the off-host item of a course's page. */
export function hostileOffHostIssuedId(orgUnitId: number): number {
  return 1_000_000_000 + orgUnitId;
}

export interface LearnWebDeps {
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  sessions: LearnSessionStore;
  certificates: SandboxCertificateStore;
  ids: LearnIds;
  /** The service user's web password (the same as on the Brightspace side). */
  password: string;
  /** Base URL of the "elsewhere" server (another origin), for off-host links and redirects. */
  elsewhereUrl: string;
}

/**
 * The default markup's certificate link (what the page links and a client may rebuild). Numbers
 * are `_N_1`; strings (the ids of another style) are used as they are.
 */
export function certificatePath(
  issuedId: number | string,
  orgUnitId: number | string,
  userId: number | string,
): string {
  const ref = (id: number | string) => encodeURIComponent(typeof id === 'number' ? learnId(id) : id);
  return `${CERTIFICATE_DOWNLOAD_PATH}?achievement_id=${ref(issuedId)}&course_id=${ref(orgUnitId)}&user_id=${ref(userId)}`;
}

/** How long a `table` markup download link stays valid. */
const SIGNED_LINK_SECONDS = 3600;

/**
 * Learn's web side: the login form with its nonce, the Ultra landing page, the Original-view
 * achievements page and the certificate download, all behind the `BbRouter` session.
 */
export function learnWebRouter(deps: LearnWebDeps): Router {
  const { institution, knobs, stats, faults, sessions, certificates, ids } = deps;
  const nonces = new NonceStore();
  const router = Router();
  const form = urlencoded({ extended: false, limit: '16kb' });
  const linkSecret = randomBytes(32);

  router.get(LEARN_LOGIN_PATH, (req, res) => {
    const action = req.query.action;
    if (action === 'logout') {
      sessions.destroy(req);
      res.append(
        'Set-Cookie',
        `${LEARN_SESSION_COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly`,
      );
      return res.redirect(302, LEARN_LOGIN_PATH);
    }
    sendHtml(
      res,
      200,
      learnLoginPage({
        nonce: nonces.issue(),
        newLoc: safeTarget(req.query.new_loc),
        ...(action === 'relogin' ? { error: BAD_CREDENTIALS_MESSAGE } : {}),
      }),
    );
  });

  // Nonce first (used up either way), then the credentials; only the service user can log in.
  router.post(LEARN_LOGIN_PATH, form, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const newLoc = safeTarget(body.new_loc);
    if (!nonces.consume(body[NONCE_FIELD])) {
      stats.learnFailedLogins++;
      return sendHtml(
        res,
        200,
        learnLoginPage({ nonce: nonces.issue(), newLoc, error: NONCE_EXPIRED_MESSAGE }),
      );
    }
    const user = typeof body.user_id === 'string' ? institution.userByName(body.user_id) : undefined;
    if (!user || user.role !== 'service' || body.password !== deps.password) {
      stats.learnFailedLogins++;
      return res.redirect(302, `${LEARN_LOGIN_PATH}?action=relogin`);
    }
    stats.learnWebLogins++;
    // Written by hand: Learn's value has `,` and `:`, which cookie serializers refuse or encode.
    res.append(
      'Set-Cookie',
      `${LEARN_SESSION_COOKIE}=${sessions.create(user.UserId, ids.userUuid(user))}; Path=/; HttpOnly`,
    );
    res.redirect(302, newLoc ?? LEARN_LANDING_PATH);
  });

  router.get(LEARN_LANDING_PATH, (req, res) => {
    const user = viewer(req);
    if (!user) return res.redirect(302, loginUrl(req.originalUrl));
    sendHtml(res, 200, streamPage(`${user.FirstName} ${user.LastName}`));
  });

  router.get(ACHIEVEMENTS_PATH, (req, res) => {
    if (knobs.current.learnMarkup !== 'default') return sendHtml(res, 404, notFoundPage());
    listing(req, res, req.query.course_id, req.query.user_id);
  });

  router.get(TABLE_ACHIEVEMENTS_PATH, (req, res) => {
    if (knobs.current.learnMarkup !== 'table') return sendHtml(res, 404, notFoundPage());
    listing(req, res, req.params.course, req.params.user);
  });

  /** One user's achievements in one course, in the markup of the moment. */
  function listing(req: Request, res: Response, courseRef: unknown, userRef: unknown): void {
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    if (!viewer(req)) return res.redirect(302, loginUrl(req.originalUrl));
    const course = ids.courseOf(courseRef);
    const user = ids.userOf(userRef);
    if (!course || !user) return sendHtml(res, 404, notFoundPage());
    stats.achievementPages++;
    const awards = institution.awardsOf(user.UserId).filter((a) => a.OrgUnitId === course.OrgUnitId);
    let items = awards.map((a) => achievementItem(a));
    const { learnHostile, learnHostileUserIds, learnMarkup } = knobs.current;
    if (learnHostile || learnHostileUserIds.includes(user.UserId)) {
      items = hostileItems(items, course.OrgUnitId, user.UserId);
    }
    const page = { courseName: course.Name, userName: `${user.FirstName} ${user.LastName}`, items };
    sendHtml(res, 200, learnMarkup === 'table' ? tableAchievementsPage(page) : achievementsPage(page));
  }

  // As the Brightspace render URL, in order: injected 5xx → the session (302 to the login) →
  // the certificate (404) → forbiddenIssuedIds (403) → offHostRedirectIssuedIds (302) →
  // hugeBodyIssuedIds → render throttling → the PDF (pdfContentType, truncation).
  router.get(CERTIFICATE_DOWNLOAD_PATH, async (req, res) => {
    if (knobs.current.learnMarkup !== 'default') return sendHtml(res, 404, notFoundPage());
    await download(req, res, req.query.achievement_id, req.query.course_id, req.query.user_id);
  });

  // The table markup's link is signed: only the link its page showed (within the hour) works.
  router.get(TABLE_CERTIFICATE_PATH, async (req, res) => {
    if (knobs.current.learnMarkup !== 'table') return sendHtml(res, 404, notFoundPage());
    const { course = '', user = '', id = '' } = req.params as Record<string, string | undefined>;
    await download(req, res, id, course, user, () => {
      const expires = Number(req.query.expires);
      const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
      return (
        Number.isSafeInteger(expires) &&
        expires * 1000 > Date.now() &&
        sameSig(sig, sign(course, user, id, expires))
      );
    });
  });

  async function download(
    req: Request,
    res: Response,
    achievementRef: unknown,
    courseRef: unknown,
    userRef: unknown,
    signatureOk?: () => boolean,
  ): Promise<void> {
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    if (!viewer(req)) return res.redirect(302, loginUrl(req.originalUrl));
    if (signatureOk && !signatureOk()) {
      stats.renderForbidden++;
      return sendHtml(res, 403, forbiddenPage());
    }
    const issuedId = ids.number('achievement', achievementRef);
    const course = ids.courseOf(courseRef);
    const user = ids.userOf(userRef);
    const award = issuedId === undefined ? undefined : institution.issuedAward(issuedId);
    if (
      !award ||
      award.Award.AwardType !== AwardType.Certificate ||
      award.OrgUnitId !== course?.OrgUnitId ||
      award.UserId !== user?.UserId
    ) {
      return sendHtml(res, 404, notFoundPage());
    }
    const { forbiddenIssuedIds, offHostRedirectIssuedIds, hugeBodyIssuedIds, hugeBodyBytes, pdfContentType } =
      knobs.current;
    if (forbiddenIssuedIds.includes(award.IssuedId)) {
      stats.renderForbidden++;
      return sendHtml(res, 403, forbiddenPage());
    }
    const filename = `Certificate-${award.IssuedId}.pdf`;
    if (offHostRedirectIssuedIds.includes(award.IssuedId)) {
      return res.redirect(302, `${deps.elsewhereUrl}/files/${award.IssuedId}/${filename}`);
    }
    if (hugeBodyIssuedIds.includes(award.IssuedId)) {
      stats.hugeBodiesStarted++;
      return streamHugeBody(res, filename, hugeBodyBytes);
    }
    const throttled = faults.renderThrottle(award.IssuedId);
    if (throttled) {
      res.setHeader('Retry-After', String(throttled.retryAfterSeconds));
      const reason = throttled.status === 429 ? 'Too Many Requests' : 'Service Unavailable';
      return sendHtml(res, throttled.status, errorPage(throttled.status, reason));
    }
    const pdf = await certificates.get(award.IssuedId);
    stats.learnCertificateDownloads++;
    sendPdf(res, pdf, filename, faults.truncation(), pdfContentType);
  }

  function sign(course: string, user: string, id: string, expires: number): string {
    return createHmac('sha256', linkSecret)
      .update(`${course}/${user}/${id}/${expires}`)
      .digest('hex')
      .slice(0, 32);
  }

  /** The link a page shows for a certificate, in the markup of the moment. */
  function linkFor(achievementRef: string, orgUnitId: number, userId: number): string {
    const courseRef = ids.courseRef(orgUnitId);
    const userRef = ids.ref('user', userId);
    if (knobs.current.learnMarkup !== 'table') return certificatePath(achievementRef, courseRef, userRef);
    const expires = Math.floor(Date.now() / 1000) + SIGNED_LINK_SECONDS;
    const path = [courseRef, userRef, achievementRef].map(encodeURIComponent).join('/');
    return `/webapps/bb-achievements/files/${path}/certificate.pdf?expires=${expires}&sig=${sign(courseRef, userRef, achievementRef, expires)}`;
  }

  function achievementItem(award: SandboxAward): AchievementItem {
    const certificate = award.Award.AwardType === AwardType.Certificate;
    const achievementId = ids.ref('achievement', award.IssuedId);
    return {
      achievementId,
      awardId: ids.ref('award', award.Award.AwardId),
      type: certificate ? 'certificate' : 'badge',
      title: award.Award.Title,
      issued: fromBasDate(award.IssuedDate),
      ...(certificate ? { href: linkFor(achievementId, award.OrgUnitId, award.UserId) } : {}),
    };
  }

  /** The logged-in user of the request (counting the request against the session), if any. */
  function viewer(req: Request): SandboxUser | undefined {
    const userId = sessions.authenticate(req);
    return userId === undefined ? undefined : institution.user(userId);
  }

  /**
   * The hostile page: the first certificate's title becomes HTML, and three certificate items are
   * added — ids `_12_2` and `abc` (malformed) and one whose link points to another host.
   */
  function hostileItems(items: AchievementItem[], orgUnitId: number, userId: number): AchievementItem[] {
    const out = [...items];
    const first = out.findIndex((i) => i.type === 'certificate');
    if (first >= 0) out[first] = { ...(out[first] as AchievementItem), title: HOSTILE_TITLE };
    const issued = new Date(Date.UTC(2026, 2, 1, 10));
    for (const id of HOSTILE_MALFORMED_IDS) {
      out.push({
        achievementId: id,
        awardId: id,
        type: 'certificate',
        title: `Malformed achievement id ${id}`,
        issued,
        href: linkFor(id, orgUnitId, userId),
      });
    }
    const offHost = ids.ref('achievement', hostileOffHostIssuedId(orgUnitId));
    out.push({
      achievementId: offHost,
      awardId: offHost,
      type: 'certificate',
      title: 'Certificate hosted elsewhere',
      issued,
      href: `${deps.elsewhereUrl}${linkFor(offHost, orgUnitId, userId)}`,
    });
    return out;
  }

  return router;
}

/** Signatures compared in constant time. */
function sameSig(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function loginUrl(target: string): string {
  return `${LEARN_LOGIN_PATH}?new_loc=${encodeURIComponent(target)}`;
}
