import { useChromiumSandbox } from '../browser/index.ts';
import { loadConfig } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { fail, pass, type CheckOutcome } from './check.ts';
import type { WorkerConfig } from '../config/shape.ts';
import type { DoctorState } from './state.ts';

/**
 * The environment (and `.env`) parses, and holds what a worker needs: the LMS, its OAuth app,
 * SECRETS_KEY. What parses is kept for the checks that need less (Redis, OUTPUT_DIR, Chromium).
 */
export async function checkConfiguration(s: DoctorState): Promise<CheckOutcome> {
  const { env, envFile, cwd } = s.input;
  const source = {
    ...(env ? { env } : {}),
    ...(envFile !== undefined ? { envFile } : {}),
    ...(cwd ? { cwd } : {}),
  };
  const fix =
    'set each variable named above, in the environment or .env (docs/configuration.md); ' +
    '`certharvest sandbox` prints a working set to compare with';
  let base;
  let config;
  try {
    base = s.provide('base', loadConfig(source));
    s.addSecretsOf(base);
    useChromiumSandbox(!base.chromiumNoSandbox);
    config = s.provide('config', loadConfig({ ...source, needs: ['lms', 'secrets-key'] }));
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.problems.join('; '), fix);
    throw err;
  }
  return pass(describeConfig(config));
}

function describeConfig(config: WorkerConfig): string {
  const { lms, webLogin } = config;
  const login = webLogin
    ? `web login ${webLogin.username}${webLogin.totpSecret ? ' with LMS_TOTP_SECRET' : ''}`
    : 'no web login (LMS_USERNAME/LMS_PASSWORD unset)';
  return [
    `${lms.kind} at ${lms.url}`,
    `${lms.auth.mode} as client ${lms.auth.clientId}`,
    `DOWNLOAD_STRATEGY=${config.downloadStrategy}`,
    login,
    `queue prefix ${config.queuePrefix}`,
  ].join('; ');
}
