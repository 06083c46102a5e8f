import {
  AuthLockTimeoutError,
  createTokenProvider,
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
  type TokenStatus,
} from '../auth/index.ts';
import {
  certificatesOnly,
  createBrightspaceAdapter,
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  LmsVersionUnsupportedError,
  RateLimitedError,
  RedisRateStateStore,
  UserNotFoundError,
  type IssuedAward,
} from '../lms/index.ts';
import { assertWholePdf, InvalidPdfError, MemoryPdfSink } from '../pdf/index.ts';
import { fail, pass, skip, warn, type CheckOutcome } from './check.ts';
import { formatBytes } from './setup-checks.ts';
import { WARN_LEVEL, type DoctorState } from './state.ts';

/** Users whose awards are listed, at most, to find a certificate to probe (without `--user`). */
export const MAX_PROBED_USERS = 10;

const SECRETS_FIX =
  'start with the SECRETS_KEY that sealed the token store (during a rotation, the old one as ' +
  'SECRETS_KEY_PREVIOUS), or run `certharvest auth bootstrap` to start a new store';

/**
 * A token, the way a worker gets one: the token store opens with SECRETS_KEY, and in
 * refresh-token mode the refresh token is rotated now (a stored access token that still works
 * would say nothing about the refresh token, which is what dies while nobody looks).
 */
export async function checkToken(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  // No web session: a refused refresh token must show here, not be healed through a web login,
  // which would post the service user's password a second time in this run.
  const tokens = await createTokenProvider({ config, redis: s.redis!, logger: s.logger });
  s.tokens = tokens;
  let before: TokenStatus;
  try {
    before = await tokens.status();
  } catch (err) {
    if (err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable)) {
      return fail('the token store does not open with this SECRETS_KEY', SECRETS_FIX);
    }
    throw err;
  }
  const auth = config.lms.auth;
  let after: TokenStatus;
  try {
    if (auth.mode === 'refresh-token') after = await tokens.rotate();
    else {
      await tokens.getAccessToken();
      after = await tokens.status();
    }
  } catch (err) {
    return tokenFailure(err, s);
  }
  s.addSecret(await tokens.getAccessToken());
  s.tokenWorks = true;
  const how =
    auth.mode === 'client-credentials'
      ? 'access token obtained (client credentials)'
      : before.state === 'not-bootstrapped'
        ? 'OAUTH_REFRESH_TOKEN imported into the token store and rotated'
        : `refresh token rotated (refresh #${after.refreshCount ?? '?'})`;
  const until = after.expiresAt ? `; access token valid until ${after.expiresAt.toISOString()}` : '';
  const site =
    config.lms.kind === 'blackboard'
      ? '; Learn keeps one token per site (asked again, it hands back the same one): the fleet shares it'
      : '';
  return pass(`${how}${until}; scopes granted: ${after.scope || '(none named)'}${site}`);
}

function tokenFailure(err: unknown, s: DoctorState): CheckOutcome {
  const tokenUrl = s.config!.lms.auth.tokenUrl;
  if (err instanceof ReauthRequiredError) {
    return err.reason === 'not-bootstrapped'
      ? fail(
          'no refresh token is stored for this LMS and client, and OAUTH_REFRESH_TOKEN is not set (or was imported already)',
          'run `certharvest auth bootstrap` (or set OAUTH_REFRESH_TOKEN to a fresh refresh token)',
        )
      : fail(
          'the LMS refused the refresh token (400 invalid_grant): it was used already, expired unused, or was revoked',
          'import a new one: `certharvest auth bootstrap --refresh-token -` (the token on stdin) or a ' +
            'fresh OAUTH_REFRESH_TOKEN; or sign in again: `certharvest auth bootstrap` (`--via-session` ' +
            'through the web login)',
        );
  }
  if (err instanceof TokenRequestRejectedError) {
    return fail(
      err.message,
      'check OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE / OAUTH_KEY_ID) and ' +
        "OAUTH_SCOPE against the app's registration",
    );
  }
  if (err instanceof TokenEndpointUnavailableError) {
    return fail(err.message, `check that OAUTH_TOKEN_URL (${tokenUrl}) is right and reachable from here`);
  }
  if (err instanceof AuthLockTimeoutError) {
    return fail(err.message, 'another process is renewing the token right now: run the doctor again');
  }
  if (err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable)) {
    return fail('the token store does not open with this SECRETS_KEY', SECRETS_FIX);
  }
  throw err;
}

/** The Valence versions of `lp` and `bas` the client will call, as negotiated with the LMS. */
export async function checkVersions(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  const { lms } = config;
  const adapter = createBrightspaceAdapter({
    lmsUrl: lms.url,
    tokens: s.tokens!,
    session: undefined,
    logger: s.logger,
    versionOverrides: lms.versionOverrides,
    // The LMS counts its request budget per app: the doctor spends from the fleet's.
    rateState: new RedisRateStateStore(s.redis!, config.queuePrefix, lms.host),
  });
  s.client = adapter.client;
  const mark = s.logLines.length;
  let versions;
  try {
    versions = await s.client.negotiateVersions();
  } catch (err) {
    if (err instanceof LmsVersionUnsupportedError) {
      return fail(
        err.message,
        'set LP_VERSION / BAS_VERSION to a version the LMS offers (the routes used have been stable), or update certharvest',
      );
    }
    return lmsFailure(err, s);
  }
  s.versionWarnings = s.logLines
    .slice(mark)
    .filter((l) => l.level >= WARN_LEVEL)
    .map((l) => l.msg);
  const found = `lp ${versions.lp}, bas ${versions.bas}`;
  if (s.versionWarnings.length === 0) return pass(`${found}: versions certharvest was written for`);
  const forced = Object.keys(lms.versionOverrides).map((p) => (p === 'lp' ? 'LP_VERSION' : 'BAS_VERSION'));
  return warn(
    `${found}; ${s.versionWarnings.join('; ')}`,
    forced.length > 0
      ? `unset ${forced.join(' / ')} (or set a version the LMS lists) unless the checks below pass with it`
      : 'nothing, while the checks below pass; if one fails, set LP_VERSION / BAS_VERSION to a version the LMS lists',
  );
}

/** Who the token acts as: the service user. */
export async function checkWhoami(s: DoctorState): Promise<CheckOutcome> {
  let me;
  try {
    me = await s.client!.whoami();
  } catch (err) {
    return lmsFailure(err, s);
  }
  s.me = me;
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
  const client = s.client!;
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
  const me = s.me!;
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
  const candidates: number[] = [];
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
  const client = s.client!;
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
      s.certificate = pick;
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
  const certificate = s.certificate;
  if (!certificate) return skip('no certificate to probe (see awards)');
  const sink = new MemoryPdfSink();
  let answer;
  try {
    answer = await s.client!.fetchCertificatePdf(certificate.issuedId, sink);
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
  return s.versionWarnings.length > 0
    ? `the LMS does not serve the route under the version used (see api versions): unset ${variable} or set one the LMS lists`
    : `check that LMS_URL (${s.config?.lms.url ?? '?'}) is the Brightspace tenant's base URL`;
}
