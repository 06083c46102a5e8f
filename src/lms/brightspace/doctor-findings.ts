/** What Brightspace's doctor steps keep for the steps after them, and how its API calls fail. */
import { SkipCheck, type CheckOutcome } from '../../doctor/check.ts';
import { lmsCallFailure } from '../../doctor/lms-failure.ts';
import type { DoctorState } from '../../doctor/state.ts';
import type { BrightspaceClient } from './client.ts';
import type { IssuedAward, WhoAmI } from './types.ts';

/** What the Brightspace steps establish for the ones after them (one per doctor run). */
class BrightspaceFindings {
  /** The REST client, once the versions are negotiated. */
  client?: BrightspaceClient;
  /** Who the token acts as (whoami). */
  me?: WhoAmI;
  certificate?: IssuedAward;
  /** What the version negotiation warned about (an override the LMS does not list, …). */
  versionWarnings: string[] = [];
}

export function findingsOf(s: DoctorState): BrightspaceFindings {
  return s.kept(BrightspaceFindings);
}

/** The client the api versions step negotiated with (a later step skips without it). */
export function clientOf(s: DoctorState): BrightspaceClient {
  const client = findingsOf(s).client;
  if (!client) throw new SkipCheck('skipped: the API versions were not negotiated');
  return client;
}

/** What an LMS call's failure means, and its likely fix. */
export function lmsFailure(err: unknown, s: DoctorState): CheckOutcome {
  const url = s.part('config')?.lms.url ?? '?';
  return lmsCallFailure(err, {
    unauthorized: "check the app's scopes (OAUTH_SCOPE and the registration) and the service user's role",
    forbidden: "give the service user's role the permission for this route (and the app its scope)",
    notFound: versionFix(s, 'LP_VERSION / BAS_VERSION'),
    throttled: 'the LMS is rate limiting this app: run the doctor again in a minute',
    unreachable: `check that LMS_URL (${url}) is up and reachable from this machine (DNS, firewall, proxy)`,
    otherShape: 'is LMS_URL a Brightspace tenant? The route answered JSON of another shape',
  });
}

export function versionFix(s: DoctorState, variable: string): string {
  return findingsOf(s).versionWarnings.length > 0
    ? `the LMS does not serve the route under the version used (see api versions): unset ${variable} or set one the LMS lists`
    : `check that LMS_URL (${s.part('config')?.lms.url ?? '?'}) is the Brightspace tenant's base URL`;
}
