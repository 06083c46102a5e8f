/**
 * Brightspace's doctor steps on one certificate: the awards listing that gives it, the bearer
 * `/pdf` route, and the render URL with the doctor's web session.
 */
import type { DoctorState } from '../../doctor/state.ts';
import { fail, pass, skip, warn, type CheckOutcome } from '../../doctor/check.ts';
import { renderFailure } from '../../doctor/render-failure.ts';
import { formatBytes } from '../../doctor/setup-checks.ts';
import { assertWholePdf, InvalidPdfError, MemoryPdfSink } from '../../pdf/index.ts';
import { LmsRequestError, LmsUnavailableError, UserNotFoundError } from '../errors.ts';
import { renderUrl } from './adapter.ts';
import { certificatesOnly } from './client.ts';
import { clientOf, findingsOf, lmsFailure, versionFix } from './doctor-findings.ts';
import type { IssuedAward } from './types.ts';

/** One awards listing (every page): the certificate to probe comes from it. */
export async function checkAwards(s: DoctorState): Promise<CheckOutcome> {
  const client = clientOf(s);
  const wanted = s.input.issuedId;
  if (s.candidates.length === 0) {
    return warn('no user to list the awards of', 'pass --user with a user who has a certificate');
  }
  const looked: string[] = [];
  let invalid: { reason: string; count: number } | undefined;
  for (const userId of s.candidates) {
    let listing;
    try {
      listing = await client.getIssuedAwards(userId);
    } catch (err) {
      if (err instanceof UserNotFoundError) {
        return fail(
          `the awards listing answered 404 for UserId ${userId}, a user the LMS knows: ` +
            'its bas routes are not served under this version',
          versionFix(s, 'BAS_VERSION'),
        );
      }
      if (err instanceof LmsRequestError && err.status === 403) {
        return fail(
          err.message,
          "give the service user's role the permission to see the awards issued to other users (organization level)",
        );
      }
      return lmsFailure(err, s);
    }
    const certificates = certificatesOnly(listing.awards);
    const firstInvalid = listing.invalid[0];
    if (firstInvalid) invalid = { reason: firstInvalid.error.message, count: listing.invalid.length };
    const counted = `UserId ${userId}: ${listing.awards.length} award(s), ${certificates.length} certificate(s)`;
    looked.push(counted);
    const pick = wanted === undefined ? certificates[0] : certificates.find((c) => c.issuedId === wanted);
    if (wanted !== undefined && !pick) {
      const ids = certificates.map((c) => c.issuedId).join(', ');
      return fail(
        `UserId ${userId} has no certificate with IssuedId ${wanted} (its certificates: ${ids || 'none'})`,
        "--issued-id must be one of the --user's certificates",
      );
    }
    if (pick) {
      findingsOf(s).certificate = pick;
      const found = `${counted}; probing ${describeCertificate(pick)}`;
      const prefix = looked.length > 1 ? `looked at ${looked.length} users; ` : '';
      if (invalid) {
        return warn(
          `${prefix}${found}; ${invalid.count} award(s) did not parse: ${invalid.reason}`,
          'those certificates fail with LMS_DATA_INVALID; the others download',
        );
      }
      return pass(`${prefix}${found}`);
    }
  }
  return warn(
    `no certificate among the awards of ${looked.length === 1 ? looked[0] : `${looked.length} users looked at`}: ` +
      'the /pdf route and the render are not probed',
    'pass --user with a user who has a certificate (and --issued-id to pick one of them)',
  );
}

function describeCertificate(c: IssuedAward): string {
  const title = c.title.length > 40 ? `${c.title.slice(0, 39)}…` : c.title;
  return `IssuedId ${c.issuedId} in org unit ${c.orgUnitId} ("${title}")`;
}

const BROKEN_BODY_FIX =
  'run the doctor again; if bodies keep arriving cut, look at the proxies and time limits between ' +
  'this machine and the LMS (the workers retry such downloads, then fail them as PDF_INVALID)';

/** The bearer `/pdf` route on the certificate: a whole PDF, or "not offered here". */
export async function checkPdfRoute(s: DoctorState): Promise<CheckOutcome> {
  const { config } = s.need('config');
  const strategy = config.downloadStrategy;
  if (strategy === 'browser') return skip('not used: DOWNLOAD_STRATEGY=browser');
  const certificate = findingsOf(s).certificate;
  if (!certificate) return skip('no certificate to probe (see awards)');
  const sink = new MemoryPdfSink();
  let answer;
  try {
    answer = await clientOf(s).fetchCertificatePdf(certificate.issuedId, sink);
  } catch (err) {
    if (err instanceof LmsUnavailableError) return fail(err.message, BROKEN_BODY_FIX);
    return lmsFailure(err, s);
  }
  if (answer.kind === 'pdf') {
    const bytes = sink.evidence.length;
    try {
      assertWholePdf(sink.evidence, answer);
    } catch (err) {
      if (err instanceof InvalidPdfError) {
        s.pdfRoute = 'refused';
        return fail(`IssuedId ${certificate.issuedId}: ${bytes} bytes, ${err.message}`, BROKEN_BODY_FIX);
      }
      throw err;
    }
    s.pdfRoute = 'works';
    return pass(
      `IssuedId ${certificate.issuedId}: ${answer.contentType}, ${formatBytes(bytes)}, a whole PDF; ` +
        'downloads use this route',
    );
  }
  const api = strategy === 'api';
  if (answer.status === 403) {
    s.pdfRoute = 'refused';
    const found = answer.missingScope
      ? `refused (403) for want of the scope ${answer.missingScope}`
      : "refused (403): the app's scopes or the service user's role do not allow it";
    const fix = answer.missingScope
      ? `add ${answer.missingScope} to the app's registration and to OAUTH_SCOPE, then \`certharvest auth bootstrap\``
      : "check the app's scopes (registration and OAUTH_SCOPE) and the service user's role";
    return api
      ? fail(`${found}, and DOWNLOAD_STRATEGY=api downloads only through it`, fix)
      : warn(`${found}; certificates come through the web session meanwhile`, fix);
  }
  s.pdfRoute = 'absent';
  if (api) {
    return fail(
      `not offered by this LMS (HTTP ${answer.status}), and DOWNLOAD_STRATEGY=api downloads only through it`,
      'set DOWNLOAD_STRATEGY=auto with LMS_USERNAME / LMS_PASSWORD: certificates then come through the web session',
    );
  }
  return pass(`not offered by this LMS (HTTP ${answer.status}): certificates come through the web session`);
}

/** One certificate through the render URL with the doctor's session: a whole PDF. */
export async function checkRender(s: DoctorState): Promise<CheckOutcome> {
  const { config } = s.need('config');
  if (config.downloadStrategy === 'api') return skip('not used: DOWNLOAD_STRATEGY=api');
  const session = s.part('session');
  if (!session) return skip('no web session to render with');
  const certificate = findingsOf(s).certificate;
  if (!certificate) return skip('no certificate to render (see awards)');
  const url = renderUrl(config.lms.url, certificate.orgUnitId, certificate.issuedId);
  const path = new URL(url).pathname;
  const sink = new MemoryPdfSink();
  try {
    const facts = await session.fetchPdf(url, sink);
    assertWholePdf(sink.evidence, facts);
    return pass(
      `${path}: ${facts.contentType ?? 'no Content-Type'}, ${formatBytes(sink.evidence.length)}, a whole PDF`,
    );
  } catch (err) {
    return renderFailure(err, path, config.webSession.profile.landingPath);
  }
}
