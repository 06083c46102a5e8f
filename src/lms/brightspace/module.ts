/**
 * D2L Brightspace as one module: its variables (LP_VERSION, BAS_VERSION,
 * BRIGHTSPACE_ORG_UNIT_NAMES), its OAuth2 defaults (D2L's auth service, the service-user pattern
 * with one-use refresh tokens, private-key JWT for client credentials), its web profile, the
 * consent form, the adapter and the doctor's steps.
 */
import { z } from 'zod';
import { flag } from '../../config/env-values.ts';
import { defineLmsModule, type ConfiguredLms } from '../module.ts';
import { BRIGHTSPACE_CONSENT_FORM } from './consent.ts';
import { BRIGHTSPACE_WEB_PROFILE } from './web-profile.ts';

/** A Valence API version (`1.53`): forces the version instead of negotiating it. */
const apiVersion = z
  .string()
  .trim()
  .regex(/^[1-9]\d*\.\d+$/, 'expected a Valence API version such as 1.53');

/**
 * What the product calls: whoami and the rest of `core`, user lookups, the issued-awards listing
 * and the bearer `/pdf` route (scope names as transcribed from D2L's table; docs/auth.md).
 */
export const BRIGHTSPACE_SCOPE = 'core:*:* users:userdata:read awards:issued:read awards:certificate:read';
const TOKEN_URL = 'https://auth.brightspace.com/core/connect/token';
const AUTHORIZE_URL = 'https://auth.brightspace.com/oauth2/auth';

export const brightspaceModule = defineLmsModule({
  kind: 'brightspace',
  title: 'D2L Brightspace',
  exampleUrl: 'https://school.brightspace.com',
  env: z.object({
    LMS: z.literal('brightspace'),
    LP_VERSION: apiVersion.optional(),
    BAS_VERSION: apiVersion.optional(),
    /** Look up each org unit's name for the manifest (`lp` `orgstructure/(orgUnitId)`). Default true. */
    BRIGHTSPACE_ORG_UNIT_NAMES: flag.optional(),
  }),
  token: {
    defaultMode: 'refresh-token',
    tokenUrl: () => TOKEN_URL,
    authorizeUrl: () => AUTHORIZE_URL,
    scope: () => BRIGHTSPACE_SCOPE,
    clientCredentials: 'private-key-jwt-unless-secret',
    basicEncoding: 'form',
  },
  webProfile: BRIGHTSPACE_WEB_PROFILE,
  configure(env): ConfiguredLms {
    const versionOverrides = {
      ...(env.LP_VERSION ? { lp: env.LP_VERSION } : {}),
      ...(env.BAS_VERSION ? { bas: env.BAS_VERSION } : {}),
    };
    const orgUnitNames = env.BRIGHTSPACE_ORG_UNIT_NAMES ?? true;
    return {
      kind: 'brightspace',
      title: 'D2L Brightspace',
      webProfile: BRIGHTSPACE_WEB_PROFILE,
      discoversWithSession: false,
      consent: BRIGHTSPACE_CONSENT_FORM,
      summary: {
        ...(versionOverrides.lp ? { LP_VERSION: versionOverrides.lp } : {}),
        ...(versionOverrides.bas ? { BAS_VERSION: versionOverrides.bas } : {}),
        ...(orgUnitNames ? {} : { BRIGHTSPACE_ORG_UNIT_NAMES: 'false' }),
      },
      async createAdapter(context) {
        const { createBrightspaceAdapter } = await import('./adapter.ts');
        const { client, ...adapter } = createBrightspaceAdapter({
          lmsUrl: context.lmsUrl,
          tokens: context.tokens,
          // Discovery is the REST API's; the session serves the render URL unless DOWNLOAD_STRATEGY=api.
          session: context.downloadStrategy === 'api' ? undefined : context.webSession,
          logger: context.logger,
          versionOverrides,
          orgUnitNames,
          rateState: context.rateState,
          ...(context.fetch ? { fetch: context.fetch } : {}),
          ...(context.observeLmsRequest ? { observe: context.observeLmsRequest } : {}),
        });
        return { ...adapter, throttledAnswers: () => client.throttledAnswers };
      },
      async inspect(context, target) {
        const { inspectBrightspace } = await import('./inspect.ts');
        return inspectBrightspace(context, target, { versionOverrides });
      },
      // Brightspace's listing carries dates and expiry: every filter applies.
      unsupportedFilters: () => [],
      userIdRule: { test: /^[1-9]\d{0,15}$/, expected: 'a Brightspace user id: a whole number such as 1001' },
      async doctorChecks() {
        return (await import('./doctor-checks.ts')).brightspaceDoctorChecks({ versionOverrides });
      },
    };
  },
});
