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
  type LoginSelectors,
  type WebSessionOptions,
  type WebSessionStats,
} from './web-session.ts';
export { BrowserFailedError, CertificateHttpError, LoginFailedError, SessionExpiredError } from './errors.ts';
