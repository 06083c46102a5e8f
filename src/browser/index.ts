export {
  checkChromiumStarts,
  chromiumArgs,
  chromiumLaunchOptions,
  launchChromium,
  resolveChromiumPath,
  useChromiumSandbox,
  DEFAULT_CHROMIUM_PATH,
} from './chromium.ts';
export { WebSession, type LoginGate, type WebSessionOptions, type WebSessionStats } from './web-session.ts';
export {
  BrowserLogin,
  type BrowserLoginOptions,
  type LoginResult,
  type LoginScriptCredentials,
} from './browser-login.ts';
export {
  isLoggedOutUrl,
  isLoginFailedUrl,
  type LoginSelectors,
  type TwoFactorStep,
  type WebProfile,
} from './web-profile.ts';
export { SessionStore, type SessionRecord } from './session-store.ts';
export { classifyAnswer, type AnswerKind } from '../http/classify-answer.ts';
export {
  answersAsLoggedIn,
  fetchWithSession,
  OffHostRedirectError,
  PdfTooLargeError,
  SessionRequestError,
} from './session-fetch.ts';
export {
  BrowserFailedError,
  BrowserLaunchError,
  CertificateForbiddenError,
  CertificateHttpError,
  LoginFailedError,
  SessionExpiredError,
} from './errors.ts';
export { cookiesForLms, importStorageState, IMPORTED_USER_AGENT } from './storage-state.ts';
export { totpCodes } from './totp.ts';
export { probeUrl, type UrlProbe } from './probe-url.ts';
