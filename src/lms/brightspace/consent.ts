import type { ConsentForm } from '../../auth/session-consent.ts';

/**
 * Brightspace's OAuth 2.0 consent page: the first time a user authorizes an app, D2L shows the
 * app's registered name ("users see this name on the consent page", Valence docs, OAuth 2.0
 * registration) with an Allow and a Deny choice, posted as a form.
 *
 * [I] The markup below is a guess: D2L does not document it, and no capture of a real tenant's
 * page was at hand. The sandbox (packages/sandbox/src/oauth.ts) serves exactly this shape; when a real
 * tenant's page differs, these selectors are the one place to change.
 */
export const BRIGHTSPACE_CONSENT_FORM: ConsentForm = {
  formSelector: 'form#d2l-oauth2-consent',
  allowSelector: 'button[type="submit"][name="consent"][value="allow"]',
  denySelector: 'button[type="submit"][name="consent"][value="deny"]',
};
