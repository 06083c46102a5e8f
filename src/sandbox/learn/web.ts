import { type Request, Router, urlencoded } from 'express';
import { fromBasDate } from '../dates.ts';
import { type FaultInjector, sendPdf } from '../faults.ts';
import { errorPage, forbiddenPage, notFoundPage } from '../html.ts';
import { streamHugeBody } from '../huge-body.ts';
import { AwardType, type Institution, type IssuedAward, type SandboxUser } from '../institution.ts';
import type { KnobBox } from '../knobs.ts';
import type { CertificateStore } from '../pdf.ts';
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
} from './html.ts';
import { learnId, type LearnIds, parseLearnId } from './ids.ts';
import { LEARN_SESSION_COOKIE, type LearnSessionStore, NonceStore } from './sessions.ts';

/** Hostile data (`learnHostile`, `learnHostileUserIds`): achievement ids that are not `_N_1`. */
export const HOSTILE_MALFORMED_IDS: readonly string[] = ['_12_2', 'abc'];
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
  certificates: CertificateStore;
  ids: LearnIds;
  /** The service user's web password (the same as on the Brightspace side). */
  password: string;
  /** Base URL of the "elsewhere" server (another origin), for off-host links and redirects. */
  elsewhereUrl: string;
}

/** The certificate link of an achievement (what the page links and the client rebuilds). */
export function certificatePath(issuedId: number | string, orgUnitId: number, userId: number): string {
  const achievement = typeof issuedId === 'number' ? learnId(issuedId) : issuedId;
  return `${CERTIFICATE_DOWNLOAD_PATH}?achievement_id=${encodeURIComponent(achievement)}&course_id=${learnId(orgUnitId)}&user_id=${learnId(userId)}`;
}

/**
 * Learn's web side: the login form with its nonce, the Ultra landing page, the Original-view
 * achievements page and the certificate download, all behind the `BbRouter` session.
 */
export function learnWebRouter(deps: LearnWebDeps): Router {
  const { institution, knobs, stats, faults, sessions, certificates, ids } = deps;
  const nonces = new NonceStore();
  const router = Router();
  const form = urlencoded({ extended: false, limit: '16kb' });

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
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    if (!viewer(req)) return res.redirect(302, loginUrl(req.originalUrl));
    const courseN = parseLearnId(req.query.course_id);
    const userN = parseLearnId(req.query.user_id);
    const course = courseN === undefined ? undefined : institution.course(courseN);
    const user = userN === undefined ? undefined : institution.user(userN);
    if (!course || !user) return sendHtml(res, 404, notFoundPage());
    stats.achievementPages++;
    const awards = institution.awardsOf(user.UserId).filter((a) => a.OrgUnitId === course.OrgUnitId);
    let items = awards.map((a) => achievementItem(a));
    const { learnHostile, learnHostileUserIds } = knobs.current;
    if (learnHostile || learnHostileUserIds.includes(user.UserId)) {
      items = hostileItems(items, course.OrgUnitId, user.UserId);
    }
    sendHtml(
      res,
      200,
      achievementsPage({ courseName: course.Name, userName: `${user.FirstName} ${user.LastName}`, items }),
    );
  });

  // As the Brightspace render URL, in order: injected 5xx → the session (302 to the login) →
  // the certificate (404) → forbiddenIssuedIds (403) → offHostRedirectIssuedIds (302) →
  // hugeBodyIssuedIds → render throttling → the PDF (pdfContentType, truncation).
  router.get(CERTIFICATE_DOWNLOAD_PATH, async (req, res) => {
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    if (!viewer(req)) return res.redirect(302, loginUrl(req.originalUrl));
    const issuedId = parseLearnId(req.query.achievement_id);
    const orgUnitId = parseLearnId(req.query.course_id);
    const userId = parseLearnId(req.query.user_id);
    const award = issuedId === undefined ? undefined : institution.issuedAward(issuedId);
    if (
      !award ||
      award.Award.AwardType !== AwardType.Certificate ||
      award.OrgUnitId !== orgUnitId ||
      award.UserId !== userId
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
  });

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
        href: certificatePath(id, orgUnitId, userId),
      });
    }
    const offHost = hostileOffHostIssuedId(orgUnitId);
    out.push({
      achievementId: learnId(offHost),
      awardId: learnId(offHost),
      type: 'certificate',
      title: 'Certificate hosted elsewhere',
      issued,
      href: `${deps.elsewhereUrl}${certificatePath(offHost, orgUnitId, userId)}`,
    });
    return out;
  }

  return router;
}

function achievementItem(award: IssuedAward): AchievementItem {
  const certificate = award.Award.AwardType === AwardType.Certificate;
  return {
    achievementId: learnId(award.IssuedId),
    awardId: learnId(award.Award.AwardId),
    type: certificate ? 'certificate' : 'badge',
    title: award.Award.Title,
    issued: fromBasDate(award.IssuedDate),
    ...(certificate ? { href: certificatePath(award.IssuedId, award.OrgUnitId, award.UserId) } : {}),
  };
}

function loginUrl(target: string): string {
  return `${LEARN_LOGIN_PATH}?new_loc=${encodeURIComponent(target)}`;
}
