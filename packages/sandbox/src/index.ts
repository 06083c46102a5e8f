export { startSandbox, type RevokeOptions, type Sandbox, type SandboxOptions } from './sandbox.ts';
export { formatEnvBlock, type SandboxEnv } from './env.ts';
export {
  DEFAULT_KNOBS,
  CONSENT_PROMPTS,
  EXPIRY_STYLES,
  LEARN_ID_STYLES,
  LEARN_MARKUPS,
  PDF_CONTENT_TYPES,
  RENDER_THROTTLE_STATUSES,
  TRUNCATE_STYLES,
  type ConsentPrompt,
  type ExpiryStyle,
  type PdfContentType,
  type RenderThrottleStatus,
  type SandboxKnobs,
  type TruncateStyle,
} from './knobs.ts';
export type { SandboxStats } from './stats.ts';
export {
  AwardType,
  createInstitution,
  type AwardDefinition,
  type AwardProfile,
  type AwardTypeValue,
  type Course,
  type Institution,
  type InstitutionOptions,
  type SandboxAward,
  type SandboxUser,
  type SandboxUserRole,
} from './institution.ts';
export { fromBasDate, toBasDate } from './dates.ts';
export {
  APP_SCOPES,
  AUTHORIZE_PATH,
  DEFAULT_SCOPE,
  JWT_CLIENT_ID,
  SANDBOX_HTTPS_REDIRECT_URI,
  TOKEN_PATH,
} from './oauth.ts';
export { PRODUCTS } from './valence.ts';
export { SECURE_SESSION_COOKIE, SESSION_COOKIE } from './web-sessions.ts';
export { IDP_LOGIN_PATH, PROCESS_LOGIN_PATH, TERMS_PATH, TWO_FACTOR_PATH } from './html.ts';
export { createSandboxCommand, runSandboxCommand, type SandboxCommandIo } from './cli/command.ts';
export { describeSandbox, type SandboxLms } from './cli/describe.ts';
export type { SandboxFlags } from './cli/flags.ts';
export { parseSandboxFlags, SandboxFlagError } from './cli/parse-flags.ts';
