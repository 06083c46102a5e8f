import { type Request, type Response, Router } from 'express';
import { type FaultInjector, sendPdf } from './faults.ts';
import { errorPage, forbiddenPage, loggedOutPage, loginPage, notFoundPage } from './html.ts';
import { streamHugeBody } from './huge-body.ts';
import { AwardType, type Institution } from './institution.ts';
import type { KnobBox } from './knobs.ts';
import type { SandboxCertificateStore } from './pdf.ts';
import type { SandboxStats } from './stats.ts';
import { loginUrl, sendHtml } from './web-common.ts';
import type { WebSessionStore } from './web-sessions.ts';

export interface RenderDeps {
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  sessions: WebSessionStore;
  certificates: SandboxCertificateStore;
  /** Base URL of the "elsewhere" server (another origin), for off-host redirects. */
  elsewhereUrl: string;
}

/**
 * The certificate render URL: session only (the problem in reference §1.5). In order: injected
 * 5xx → the session (`expiryStyle` without one) → the certificate (404) → permission (403,
 * `forbiddenIssuedIds`) → off-host redirect → huge body → render throttling → the PDF.
 */
export function renderRouter(deps: RenderDeps): Router {
  const { institution, knobs, stats, faults, sessions, certificates } = deps;
  const router = Router();

  router.get('/d2l/awards/v1/:ou/certificate/render/:issuedId', async (req, res) => {
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    const userId = sessions.authenticate(req);
    if (userId === undefined) return answerLoggedOut(req, res);
    const { ou, issuedId } = req.params as { ou: string; issuedId: string };
    const award = /^\d+$/.test(issuedId) ? institution.issuedAward(Number(issuedId)) : undefined;
    if (!award || String(award.OrgUnitId) !== ou || award.Award.AwardType !== AwardType.Certificate) {
      return sendHtml(res, 404, notFoundPage());
    }
    const { forbiddenIssuedIds, offHostRedirectIssuedIds, hugeBodyIssuedIds, hugeBodyBytes, pdfContentType } =
      knobs.current;
    const viewer = institution.user(userId);
    const foreign = viewer?.role === 'student' && viewer.UserId !== award.UserId;
    if (foreign || forbiddenIssuedIds.includes(award.IssuedId)) {
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
    stats.renderPdf++;
    sendPdf(res, pdf, filename, faults.truncation(), pdfContentType);
  });

  /** No live session: answer as the `expiryStyle` knob says (reference §9.6 saw all four). */
  function answerLoggedOut(req: Request, res: Response): void {
    stats.renderLoginPage++;
    switch (knobs.current.expiryStyle) {
      case 'login-page':
        // What the reference thread saw: 200, text/html, the login page — no redirect.
        return sendHtml(res, 200, loginPage({ target: req.originalUrl }));
      case 'redirect':
        return res.redirect(302, loginUrl(req.originalUrl, 'sessionExpired=1&'));
      case 'forbidden':
        return sendHtml(res, 403, loggedOutPage(403));
      case 'unauthorized':
        return sendHtml(res, 401, loggedOutPage(401));
    }
  }

  return router;
}
