/**
 * Brightspace's steps of `certharvest doctor`: the negotiated Valence versions, whoami, a user
 * lookup, one awards listing, the bearer `/pdf` route and one render with the web session. The
 * steps every LMS shares (configuration, Redis, token, Chromium, web login, output) are
 * src/doctor's; this module places them in its order. The certificate's steps are
 * ./doctor-certificate.ts; what the steps keep for each other, ./doctor-findings.ts.
 */
import { fail, pass, SkipCheck, warn, type Check, type CheckOutcome } from '../../doctor/check.ts';
import { checkChromium } from '../../doctor/setup-checks.ts';
import { WARN_LEVEL, type DoctorState } from '../../doctor/state.ts';
import { checkWebLogin } from '../../doctor/web-login-check.ts';
import type { LmsId } from '../../certificate/index.ts';
import { LmsVersionUnsupportedError, UserNotFoundError } from '../errors.ts';
import { checkAwards, checkPdfRoute, checkRender } from './doctor-certificate.ts';
import { clientOf, findingsOf, lmsFailure } from './doctor-findings.ts';
import { restClientOf } from './inspect-client.ts';

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
  const { lms } = s.need('lms');
  const found = findingsOf(s);
  // The fleet's token and request budget (the LMS counts it per app: the doctor spends from it).
  const client = (found.client = restClientOf(lms, settings.versionOverrides));
  const mark = s.logLines.length;
  let versions;
  try {
    versions = await client.negotiateVersions();
  } catch (err) {
    if (err instanceof LmsVersionUnsupportedError) {
      return fail(
        err.message,
        'set LP_VERSION / BAS_VERSION to a version the LMS offers (the routes used have been stable), or update certharvest',
      );
    }
    return lmsFailure(err, s);
  }
  found.versionWarnings = s.logLines
    .slice(mark)
    .filter((l) => l.level >= WARN_LEVEL)
    .map((l) => l.msg);
  const said = `lp ${versions.lp}, bas ${versions.bas}`;
  if (found.versionWarnings.length === 0) return pass(`${said}: versions certharvest was written for`);
  const forced = Object.keys(settings.versionOverrides).map((p) =>
    p === 'lp' ? 'LP_VERSION' : 'BAS_VERSION',
  );
  return warn(
    `${said}; ${found.versionWarnings.join('; ')}`,
    forced.length > 0
      ? `unset ${forced.join(' / ')} (or set a version the LMS lists) unless the checks below pass with it`
      : 'nothing, while the checks below pass; if one fails, set LP_VERSION / BAS_VERSION to a version the LMS lists',
  );
}

/** Who the token acts as: the service user. */
export async function checkWhoami(s: DoctorState): Promise<CheckOutcome> {
  let me;
  try {
    me = await clientOf(s).whoami();
  } catch (err) {
    return lmsFailure(err, s);
  }
  findingsOf(s).me = me;
  const name = [me.firstName, me.lastName].filter(Boolean).join(' ');
  const found =
    `the token acts as ${me.uniqueName ?? '(no UniqueName)'} (UserId ${me.userId}${name ? `, ${name}` : ''}); ` +
    'whoami names no role: the lookups below show what it may see';
  const login = s.part('config')?.webLogin?.username;
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
  const client = clientOf(s);
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
  const me = findingsOf(s).me;
  if (!me) throw new SkipCheck('skipped: whoami did not say who the service user is');
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
