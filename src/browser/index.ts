export {
  chromiumArgs,
  chromiumLaunchOptions,
  launchChromium,
  resolveChromiumPath,
  DEFAULT_CHROMIUM_PATH,
} from './chromium.ts';
export {
  WebSession,
  BRIGHTSPACE_LOGIN_SELECTORS,
  type FetchedPdf,
  type LoginGate,
  type LoginSelectors,
  type WebSessionOptions,
  type WebSessionStats,
} from './web-session.ts';
export {
  BrowserFailedError,
  BrowserLaunchError,
  CertificateHttpError,
  LoginFailedError,
  SessionExpiredError,
} from './errors.ts';
