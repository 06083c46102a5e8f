/** The configuration a worker needs to run against a sandbox: the `.env` block it prints. */
export interface SandboxEnv {
  LMS_URL: string;
  OAUTH_TOKEN_URL: string;
  OAUTH_AUTHORIZE_URL: string;
  OAUTH_CLIENT_ID: string;
  OAUTH_CLIENT_SECRET: string;
  OAUTH_REFRESH_TOKEN: string;
  OAUTH_SCOPE: string;
  LMS_USERNAME: string;
  LMS_PASSWORD: string;
  /** The service user's base32 TOTP secret; only while the sandbox asks for two-factor codes. */
  LMS_TOTP_SECRET?: string;
}

const ORDER: readonly (keyof SandboxEnv)[] = [
  'LMS_URL',
  'OAUTH_TOKEN_URL',
  'OAUTH_AUTHORIZE_URL',
  'OAUTH_CLIENT_ID',
  'OAUTH_CLIENT_SECRET',
  'OAUTH_REFRESH_TOKEN',
  'OAUTH_SCOPE',
  'LMS_USERNAME',
  'LMS_PASSWORD',
  'LMS_TOTP_SECRET',
];

/**
 * `KEY=value` lines, one per variable present, ending with a newline; values never need quoting
 * here.
 */
export function formatEnvBlock(env: SandboxEnv): string {
  return (
    ORDER.filter((key) => env[key] !== undefined)
      .map((key) => `${key}=${env[key]}`)
      .join('\n') + '\n'
  );
}

/**
 * The worker's configuration for the sandbox's Blackboard Learn mode (`Sandbox.learnEnv`): the
 * Learn app's key and secret, and the Learn web login (same service user as the Brightspace side).
 */
export interface LearnSandboxEnv {
  LMS: 'blackboard';
  LMS_URL: string;
  OAUTH_CLIENT_ID: string;
  OAUTH_CLIENT_SECRET: string;
  OAUTH_TOKEN_URL: string;
  LMS_USERNAME: string;
  LMS_PASSWORD: string;
  LMS_LOGIN_URL: string;
  LMS_LOGIN_LANDING: string;
  LMS_LOGIN_USER_SELECTOR: string;
  LMS_LOGIN_PASSWORD_SELECTOR: string;
  LMS_LOGIN_SUBMIT_SELECTOR: string;
}
