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
  BRIGHTSPACE_LOGIN_SELECTORS,
  type BrowserLoginOptions,
  type LoginResult,
  type LoginSelectors,
} from './browser-login.ts';
export { SessionStore, type SessionRecord } from './session-store.ts';
export { classifyAnswer, type AnswerKind } from './classify-answer.ts';
export {
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
