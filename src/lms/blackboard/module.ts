/**
 * Blackboard Learn as one module: its variables (LMS_SITE_PROFILE and the older BB_* overrides),
 * its OAuth2 defaults (Learn's own token endpoint, client credentials with a raw Basic key:secret,
 * `read offline` for three-legged tokens), its web profile, the consent page, the adapter and the
 * doctor's steps. Learn lists certificates only on its web pages, so discovery needs the session.
 */
import type { WebProfile } from '../../browser/index.ts';
import { z } from 'zod';
import { defineLmsModule, type AdapterContext, type ConfiguredLms } from '../module.ts';
import { BLACKBOARD_CONSENT_FORM } from './consent.ts';
import { DEFAULT_SITE_PROFILE } from './site-profile-default.ts';
import { unsupportedFilters } from './site-profile-filters.ts';
import { siteProfileFromLegacy } from './site-profile-legacy.ts';
import { loadSiteProfile } from './site-profile-load.ts';
import { SiteProfileError, type SiteProfile } from './site-profile-shape.ts';
import { LEARN_WEB_PROFILE } from './web-profile.ts';

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const oauthBase = (url: string) => `${url}/learn/api/public/v1/oauth2`;

export const blackboardModule = defineLmsModule({
  kind: 'blackboard',
  title: 'Blackboard Learn',
  exampleUrl: 'https://school.blackboard.com',
  env: z.object({
    LMS: z.literal('blackboard'),
    /** How this site's pages are read (docs/blackboard.md): YAML or JSON. */
    LMS_SITE_PROFILE: nonEmpty.optional(),
    /** Overrides of the site profile, kept from before it existed. */
    BB_ACHIEVEMENTS_URL: nonEmpty.optional(),
    BB_CERTIFICATE_URL: nonEmpty.optional(),
    BB_ACHIEVEMENT_SELECTOR: nonEmpty.optional(),
    BB_CERTIFICATE_LINK_SELECTOR: nonEmpty.optional(),
    BB_TITLE_SELECTOR: nonEmpty.optional(),
    BB_ISSUED_SELECTOR: nonEmpty.optional(),
  }),
  token: {
    defaultMode: 'client-credentials',
    tokenUrl: (url) => `${oauthBase(url)}/token`,
    authorizeUrl: (url) => `${oauthBase(url)}/authorizationcode`,
    // Learn's three-legged flow gives a refresh token only with the `offline` scope (reference §6.1).
    scope: (mode) => (mode === 'refresh-token' ? 'read offline' : ''),
    clientCredentials: 'client-secret',
    // Learn documents `Basic base64(key:secret)` with the key as it is (reference §6.1).
    basicEncoding: 'raw',
  },
  webProfile: LEARN_WEB_PROFILE,
  configure(env, shared): ConfiguredLms | { problems: string[] } {
    const problems: string[] = [];
    if (!shared.webLogin) {
      problems.push(
        "LMS_USERNAME / LMS_PASSWORD: Blackboard Learn lists certificates only on its web pages, so the service user's web login is needed (it is not set)",
      );
    }
    if (shared.downloadStrategy === 'api') {
      problems.push(
        'DOWNLOAD_STRATEGY: Blackboard Learn has no REST route for certificates: use "auto" or "browser" (got "api")',
      );
    }
    let profile: SiteProfile = DEFAULT_SITE_PROFILE;
    try {
      if (env.LMS_SITE_PROFILE) profile = loadSiteProfile(shared.resolvePath(env.LMS_SITE_PROFILE));
      profile = siteProfileFromLegacy(env, profile);
    } catch (error) {
      if (!(error instanceof SiteProfileError)) throw error;
      problems.push(...error.problems.map((p) => (env.LMS_SITE_PROFILE ? `LMS_SITE_PROFILE: ${p}` : p)));
    }
    if (problems.length > 0) return { problems };
    const webProfile = withSiteLogin(LEARN_WEB_PROFILE, profile);
    const adapterOf = async (context: AdapterContext) => {
      const { createBlackboardAdapter } = await import('./adapter.ts');
      return createBlackboardAdapter({
        lmsUrl: context.lmsUrl,
        tokens: context.tokens,
        // Learn lists certificates only on its web pages: discovery needs the session too.
        session: context.webSession,
        logger: context.logger,
        rateState: context.rateState,
        redis: context.redis,
        prefix: context.prefix,
        profile,
        webProfile,
        ...(context.fetch ? { fetch: context.fetch } : {}),
        ...(context.observeLmsRequest ? { observe: context.observeLmsRequest } : {}),
      });
    };
    return {
      kind: 'blackboard',
      title: 'Blackboard Learn',
      webProfile,
      discoversWithSession: true,
      consent: BLACKBOARD_CONSENT_FORM,
      tokenNote:
        'Learn keeps one token per site (asked again, it hands back the same one): the fleet shares it',
      summary: {
        'site profile': profile.source,
        'achievements page': profile.achievements.url,
        'achievement item': profile.achievements.item,
      },
      async createAdapter(context) {
        const { client, ...adapter } = await adapterOf(context);
        return { ...adapter, throttledAnswers: () => client.throttledAnswers };
      },
      // Learn counts REST calls per site and day (10,000 by default): the fleet's count today.
      async usage(redis, prefix) {
        const { LEARN_DAILY_QUOTA, learnCallsToday } = await import('./quota.ts');
        const today = await learnCallsToday(redis, prefix);
        return {
          key: 'learnCalls',
          value: { today, dailyQuota: LEARN_DAILY_QUOTA },
          line: `Learn REST calls: ${today.toLocaleString('en')} today (UTC); quota ${LEARN_DAILY_QUOTA.toLocaleString('en')} a day`,
        };
      },
      async inspect(context, target) {
        const { inspectLearn } = await import('./inspect-run.ts');
        return inspectLearn(context, target, {
          profile,
          webProfile,
          client: (await adapterOf(context)).client,
        });
      },
      unsupportedFilters: (filters) => unsupportedFilters(profile, filters),
      async doctorChecks() {
        return (await import('./doctor-checks.ts')).learnDoctorChecks({ profile, webProfile });
      },
    };
  },
});

/** Learn's web login with the site profile's `login:` section laid over it. */
function withSiteLogin(base: WebProfile, profile: SiteProfile): WebProfile {
  const login = profile.login;
  if (!login) return base;
  return {
    ...base,
    ...(login.loginPath ? { loginPath: login.loginPath } : {}),
    ...(login.landingPath ? { landingPath: login.landingPath } : {}),
    selectors: {
      username: login.usernameSelector ?? base.selectors.username,
      password: login.passwordSelector ?? base.selectors.password,
      submit: login.submitSelector ?? base.selectors.submit,
    },
    ...(login.loggedOutUrlPatterns?.length ? { loggedOutPaths: login.loggedOutUrlPatterns } : {}),
  };
}
