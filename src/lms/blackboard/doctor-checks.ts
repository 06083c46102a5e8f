/**
 * Blackboard Learn's steps of `certharvest doctor`: the user lookup through Learn's REST API (with
 * the app's daily quota), the awards as the site's listing pages show them (read with the doctor's
 * web session and the site profile), and one certificate downloaded from the link its page shows.
 * Learn has no API versions, whoami or bearer `/pdf` route: those steps say so and skip. The
 * steps are ./doctor-user-lookup.ts and ./doctor-certificate.ts; what they keep for each other,
 * ./doctor-findings.ts.
 */
import { skip, type Check, type CheckOutcome } from '../../doctor/check.ts';
import { checkChromium } from '../../doctor/setup-checks.ts';
import type { DoctorState } from '../../doctor/state.ts';
import { checkWebLogin } from '../../doctor/web-login-check.ts';
import { checkLearnAwards, checkLearnRender } from './doctor-certificate.ts';
import type { LearnDoctorSettings } from './doctor-findings.ts';
import { checkLearnUserLookup } from './doctor-user-lookup.ts';
import { DEFAULT_SITE_PROFILE } from './site-profile.ts';
import { LEARN_WEB_PROFILE } from './web-profile.ts';

export type { LearnDoctorSettings } from './doctor-findings.ts';
export { MAX_PROBED_USERS } from './doctor-user-lookup.ts';

/** Learn's steps, in the order a harvest meets them, between the token and the output checks. */
export function learnDoctorChecks(site: LearnDoctorSettings): readonly Check<DoctorState>[] {
  return [
    { name: 'api versions', needs: ['token'], run: notApplicable.versions },
    { name: 'whoami', needs: ['token'], run: notApplicable.whoami },
    { name: 'chromium', run: checkChromium, timeoutMs: 45_000 },
    // A login may wait for a worker's (90 s) before its own (launch and form, 30 s each).
    {
      name: 'web login',
      needs: ['configuration', 'redis', 'chromium'],
      run: checkWebLogin,
      timeoutMs: 180_000,
    },
    { name: 'user lookup', needs: ['token'], run: (s) => checkLearnUserLookup(s, site) },
    {
      name: 'awards',
      needs: ['user lookup', 'web login'],
      run: (s) => checkLearnAwards(s, site),
      timeoutMs: 180_000,
    },
    { name: 'pdf route', needs: ['awards'], run: notApplicable.pdfRoute },
    { name: 'render', needs: ['web login', 'awards'], run: checkLearnRender, timeoutMs: 150_000 },
  ];
}

/** The three Brightspace checks Learn has nothing to check with. */
export const notApplicable = {
  versions: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no API versions to negotiate (one REST API, /learn/api/public/v1)'),
  whoami: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no whoami route; the user lookup finds the service user by name'),
  pdfRoute: async (): Promise<CheckOutcome> =>
    skip('not applicable: Learn has no REST route for certificates; the render downloads them'),
};

/**
 * The steps for a site read with the default profile (no LMS_SITE_PROFILE). A site with a profile
 * file needs `learnDoctorChecks({ profile, webProfile })`.
 */
export const LEARN_DOCTOR_CHECKS: readonly Check<DoctorState>[] = learnDoctorChecks({
  profile: DEFAULT_SITE_PROFILE,
  webProfile: LEARN_WEB_PROFILE,
});
