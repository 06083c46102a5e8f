import type { ConsentForm } from '../../auth/session-consent.ts';

/**
 * Learn's three-legged OAuth authorization screen: the first time a user reaches
 * `/learn/api/public/v1/oauth2/authorizationcode` for an app, Learn asks them to authorize it
 * ("When prompted on the Learn Authorization screen to authorize access, select Allow", Learn
 * help, Authorize Access to Integrated Apps). An integration registered with "Authorized To Act
 * As User" skips the screen.
 *
 * [I] The markup below is a guess in Learn's Original style (a nonce field, `<input type=submit>`
 * buttons with ids); no capture of a real site's page was at hand. The sandbox
 * (packages/sandbox/src/learn/oauth.ts) serves exactly this shape; when a real site's page differs, these
 * selectors are the one place to change.
 */
export const BLACKBOARD_CONSENT_FORM: ConsentForm = {
  formSelector: 'form#authorizeForm',
  allowSelector: 'input[type="submit"]#authorizeButton',
  denySelector: 'input[type="submit"]#denyButton',
};
