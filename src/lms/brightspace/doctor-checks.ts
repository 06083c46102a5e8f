/**
 * Brightspace's steps of `certharvest doctor`: the negotiated Valence versions, whoami, a user
 * lookup, one awards listing, the bearer `/pdf` route and one render with the web session. The
 * steps every LMS shares (configuration, Redis, token, Chromium, web login, output) are
 * src/doctor's; this module places them in its order.
 */
import { fail, pass, skip, warn, type Check, type CheckOutcome } from '../../doctor/check.ts';
import { formatBytes } from '../../doctor/setup-checks.ts';
import { WARN_LEVEL, type DoctorState } from '../../doctor/state.ts';
import { checkChromium, checkWebLogin, renderFailure } from '../../doctor/web-checks.ts';
import { assertWholePdf, InvalidPdfError, MemoryPdfSink } from '../../pdf/index.ts';
import type { LmsId } from '../../certificate/index.ts';
import {
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  LmsVersionUnsupportedError,
  RateLimitedError,
  UserNotFoundError,
} from '../errors.ts';
import { RedisRateStateStore } from '../fleet-rate-state.ts';
import { createBrightspaceAdapter, renderUrl } from './adapter.ts';
import { certificatesOnly, type BrightspaceClient } from './client.ts';
import type { IssuedAward, WhoAmI } from './types.ts';

/** What the Brightspace steps establish for the ones after them (per doctor run). */
interface BrightspaceFindings {
  client: BrightspaceClient | undefined;
  me: WhoAmI | undefined;
  certificate: IssuedAward | undefined;
  /** What the version negotiation warned about (an override the LMS does not list, …). */
  versionWarnings: string[];
}
const findings = new WeakMap<DoctorState, BrightspaceFindings>();
function ofRun(s: DoctorState): BrightspaceFindings {
  let f = findings.get(s);
  if (!f) {
    f = { client: undefined, me: undefined, certificate: undefined, versionWarnings: [] };
    findings.set(s, f);
  }
  return f;
}

/**
 * In the order a harvest meets them; `needs` names the steps whose failure makes a step pointless.
 * The doctor runs them after configuration, redis, fleet and token, and before the output check.
 */
export function brightspaceDoctorChecks(settings: BrightspaceSettings): readonly Check<DoctorState>[] {
  return [
    { name: 'api versions', needs: ['token'], run: (s) => checkVersions(s, settings) },
    { name: 'whoami', needs: ['api versions'], run: checkWhoami },
    { name: 'user lookup', needs: ['whoami'], run: checkUserLookup },
    { name: 'awards', needs: ['user lookup'], run: checkAwards, timeoutMs: 120_000 },
    { name: 'pdf route', needs: ['awards'], run: checkPdfRoute, timeoutMs: 90_000 },
    { name: 'chromium', run: checkChromium, timeoutMs: 45_000 },
    // A login may wait for a worker's (90 s) before its own (launch and form, 30 s each).
    {
      name: 'web login',
      needs: ['configuration', 'redis', 'chromium'],
      run: checkWebLogin,
      timeoutMs: 180_000,
    },
    { name: 'render', needs: ['web login', 'awards'], run: checkRender, timeoutMs: 150_000 },
  ];
}

/** The module's own settings the steps need. */
export interface BrightspaceSettings {
  /** LP_VERSION / BAS_VERSION. */
  versionOverrides: { lp?: string; bas?: string };
}

/** Users whose awards are listed, at most, to find a certificate to probe (without `--user`). */
export const MAX_PROBED_USERS = 10;

/** The Valence versions of `lp` and `bas` the client will call, as negotiated with the LMS. */
export async function checkVersions(s: DoctorState, settings: BrightspaceSettings): Promise<CheckOutcome> {
  const config = s.config!;
  const { lms } = config;
  const adapter = createBrightspaceAdapter({
    lmsUrl: lms.url,
    tokens: s.tokens!,
    session: undefined,
    logger: s.logger,
    versionOverrides: settings.versionOverrides,
    // The LMS counts its request budget per app: the doctor spends from the fleet's.
    rateState: new RedisRateStateStore(s.redis!, config.queuePrefix, lms.host),
  });
  ofRun(s).client = adapter.client;
  const mark = s.logLines.length;
  let versions;
  try {
    versions = await ofRun(s).client!.negotiateVersions();
  } catch (err) {
    if (err instanceof LmsVersionUnsupportedError) {
      return fail(
        err.message,
        'set LP_VERSION / BAS_VERSION to a version the LMS offers (the routes used have been stable), or update certharvest',
      );
    }
    return lmsFailure(err, s);
  }
  ofRun(s).versionWarnings = s.logLines
    .slice(mark)
    .filter((l) => l.level >= WARN_LEVEL)
    .map((l) => l.msg);
  const found = `lp ${versions.lp}, bas ${versions.bas}`;
  if (ofRun(s).versionWarnings.length === 0) return pass(`${found}: versions certharvest was written for`);
  const forced = Object.keys(settings.versionOverrides).map((p) =>
    p === 'lp' ? 'LP_VERSION' : 'BAS_VERSION',
  );
  return warn(
    `${found}; ${ofRun(s).versionWarnings.join('; ')}`,
    forced.length > 0
      ? `unset ${forced.join(' / ')} (or set a version the LMS lists) unless the checks below pass with it`
      : 'nothing, while the checks below pass; if one fails, set LP_VERSION / BAS_VERSION to a version the LMS lists',
  );
}

/** Who the token acts as: the service user. */
export async function checkWhoami(s: DoctorState): Promise<CheckOutcome> {
  let me;
  try {
    me = await ofRun(s).client!.whoami();
  } catch (err) {
    return lmsFailure(err, s);
  }
  ofRun(s).me = me;
  const name = [me.firstName, me.lastName].filter(Boolean).join(' ');
  const found =
    `the token acts as ${me.uniqueName ?? '(no UniqueName)'} (UserId ${me.userId}${name ? `, ${name}` : ''}); ` +
    'whoami names no role: the lookups below show what it may see';
  const login = s.config!.webLogin?.username;
  if (login && me.uniqueName && login.toLowerCase() !== me.uniqueName.toLowerCase()) {
    return warn(
      `${found}; but the web login (LMS_USERNAME) is ${login}`,
      'bootstrap the token as the service user whose web login is configured (`certharvest auth bootstrap`), or fix LMS_USERNAME',
    );
  }
  return pass(found);
}

/**
 * A user lookup of the kind batches use: `--user`, or else the service user by its user name;
 * then, without `--user`, the first page of the users listing gives users to probe.
 */
export async function checkUserLookup(s: DoctorState): Promise<CheckOutcome> {
  const client = ofRun(s).client!;
  const ref = s.input.user;
  if (ref) {
    try {
      const user = await client.resolveUser(ref);
      s.candidates = [user.userId];
      const name = user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || '');
      const who =
        ref.by === 'userId'
          ? `UserId ${user.userId} is ${user.userName}`
          : `${ref.by} ${ref.value} is UserId ${user.userId}`;
      const more = [name, user.isActive === false ? 'inactive' : ''].filter(Boolean).join(', ');
      return pass(`${who}${more ? ` (${more})` : ''}`);
    } catch (err) {
      if (err instanceof UserNotFoundError) {
        return fail(err.message, 'check --user: a UserId, userName:NAME or orgDefinedId:ID of this LMS');
      }
      return lmsFailure(err, s);
    }
  }
  const me = ofRun(s).me!;
  let byName = '';
  let hidden = false;
  if (me.uniqueName) {
    try {
      const found = await client.findUserByUserName(me.uniqueName);
      byName = `userName ${me.uniqueName} is UserId ${found.userId}`;
    } catch (err) {
      // Some tenants keep service users out of the lookups: not a failure of the lookup itself.
      if (!(err instanceof UserNotFoundError)) return lmsFailure(err, s);
      hidden = true;
      byName = `userName ${me.uniqueName} (the service user) is not found by the lookup`;
    }
  }
  const candidates: LmsId[] = [];
  try {
    for await (const item of client.listUsers()) {
      if (item.ok && item.value.userId !== me.userId && item.value.isActive !== false) {
        candidates.push(item.value.userId);
      }
      if (candidates.length >= MAX_PROBED_USERS) break;
    }
  } catch (err) {
    const listing = lmsFailure(err, s);
    return warn(
      `${byName ? `${byName}; ` : ''}the users listing failed: ${listing.found}`,
      "`submit --all-users` needs that listing (the service user's role must see the users); " +
        'meanwhile pass --user to pick the user to probe',
    );
  }
  s.candidates = candidates;
  const found = `${byName ? `${byName}; ` : ''}the users listing answers (${candidates.length} users taken from it to probe)`;
  return hidden ? warn(found, 'check a lookup batches use with --user userName:SOMEONE') : pass(found);
}

/** One awards listing (every page): the certificate to probe comes from it. */
export async function checkAwards(s: DoctorState): Promise<CheckOutcome> {
  const client = ofRun(s).client!;
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
    if (listing.invalid.length > 0) {
      invalid = { reason: listing.invalid[0]!.error.message, count: listing.invalid.length };
    }
    looked.push(`UserId ${userId}: ${listing.awards.length} award(s), ${certificates.length} certificate(s)`);
    const pick = wanted === undefined ? certificates[0] : certificates.find((c) => c.issuedId === wanted);
    if (wanted !== undefined && !pick) {
      const ids = certificates.map((c) => c.issuedId).join(', ');
      return fail(
        `UserId ${userId} has no certificate with IssuedId ${wanted} (its certificates: ${ids || 'none'})`,
        "--issued-id must be one of the --user's certificates",
      );
    }
    if (pick) {
      ofRun(s).certificate = pick;
      const found = `${looked.at(-1)!}; probing ${describeCertificate(pick)}`;
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
  const config = s.config!;
  const strategy = config.downloadStrategy;
  if (strategy === 'browser') return skip('not used: DOWNLOAD_STRATEGY=browser');
  const certificate = ofRun(s).certificate;
  if (!certificate) return skip('no certificate to probe (see awards)');
  const sink = new MemoryPdfSink();
  let answer;
  try {
    answer = await ofRun(s).client!.fetchCertificatePdf(certificate.issuedId, sink);
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

/** What an LMS call's failure means, and its likely fix. */
export function lmsFailure(err: unknown, s: DoctorState): CheckOutcome {
  if (err instanceof LmsRequestError) {
    if (err.code === 'LMS_UNAUTHORIZED') {
      return fail(
        err.message,
        "check the app's scopes (OAUTH_SCOPE and the registration) and the service user's role",
      );
    }
    if (err.status === 403) {
      return fail(
        err.message,
        "give the service user's role the permission for this route (and the app its scope)",
      );
    }
    if (err.status === 404) return fail(err.message, versionFix(s, 'LP_VERSION / BAS_VERSION'));
    return fail(err.message);
  }
  if (err instanceof RateLimitedError) {
    return fail(err.message, 'the LMS is rate limiting this app: run the doctor again in a minute');
  }
  if (err instanceof LmsUnavailableError) {
    return fail(
      err.message,
      `check that LMS_URL (${s.config?.lms.url ?? '?'}) is up and reachable from this machine (DNS, firewall, proxy)`,
    );
  }
  if (err instanceof LmsDataError) {
    return fail(err.message, 'is LMS_URL a Brightspace tenant? The route answered JSON of another shape');
  }
  throw err;
}

function versionFix(s: DoctorState, variable: string): string {
  return ofRun(s).versionWarnings.length > 0
    ? `the LMS does not serve the route under the version used (see api versions): unset ${variable} or set one the LMS lists`
    : `check that LMS_URL (${s.config?.lms.url ?? '?'}) is the Brightspace tenant's base URL`;
}

/** One certificate through the render URL with the doctor's session: a whole PDF. */
export async function checkRender(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  if (config.downloadStrategy === 'api') return skip('not used: DOWNLOAD_STRATEGY=api');
  if (!s.session) return skip('no web session to render with');
  const certificate = ofRun(s).certificate;
  if (!certificate) return skip('no certificate to render (see awards)');
  const url = renderUrl(config.lms.url, certificate.orgUnitId, certificate.issuedId);
  const path = new URL(url).pathname;
  const sink = new MemoryPdfSink();
  try {
    const facts = await s.session.fetchPdf(url, sink);
    assertWholePdf(sink.evidence, facts);
    return pass(
      `${path}: ${facts.contentType ?? 'no Content-Type'}, ${formatBytes(sink.evidence.length)}, a whole PDF`,
    );
  } catch (err) {
    return renderFailure(err, path, s);
  }
}
