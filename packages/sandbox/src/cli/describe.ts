import { formatEnvBlock } from '../env.ts';
import { JWT_CLIENT_ID } from '../oauth.ts';
import type { Sandbox } from '../sandbox.ts';

/** The LMS whose `.env` block `certharvest sandbox` prints (the sandbox serves both). */
export type SandboxLms = 'brightspace' | 'blackboard';

/**
 * What `certharvest sandbox` prints: a commented header, then the `.env` block for `lms`, so the
 * whole output is a valid .env file (`certharvest sandbox > .env`).
 */
export function describeSandbox(sandbox: Sandbox, lms: SandboxLms): string {
  return header(sandbox, lms) + (lms === 'blackboard' ? learnEnvBlock(sandbox) : formatEnvBlock(sandbox.env));
}

/** Learn's `.env` lines; values with spaces or shell characters quoted. */
function learnEnvBlock(sandbox: Sandbox): string {
  return (
    Object.entries(sandbox.learnEnv)
      .map(([k, v]) => `${k}=${/[\s"'$#]/.test(v) ? `'${v}'` : v}`)
      .join('\n') + '\n'
  );
}

/** Comment lines: what the sandbox plays, its institution and every knob's value. */
function header(sandbox: Sandbox, lms: SandboxLms): string {
  const { institution: inst, knobs: k } = sandbox;
  const certificates = inst.certificates().length;
  const badges = inst.issued.length - certificates;
  const pct = (rate: number) => `${Math.round(rate * 1000) / 10}%`;
  return [
    `# certharvest sandbox: a simulated ${lms === 'blackboard' ? 'Blackboard Learn' : 'Brightspace'} LMS at ${sandbox.url}` +
      (lms === 'blackboard'
        ? ` (Achievements pages: ${k.learnMarkup} markup, ${k.learnIds} ids; consent page: ${k.consentPrompt})`
        : ` (consent page: ${k.consentPrompt})`),
    `# seed ${inst.seed}: ${inst.students.length} students, ${inst.courses.length} courses, ` +
      `${certificates} certificates and ${badges} badges; service user ${inst.serviceUser.UserName}`,
    `# knobs: latency ${k.latencyMs} ms, errors ${pct(k.errorRate)}, truncated PDFs ${pct(k.truncateRate)} ` +
      `(${k.truncateStyle}), throttled ${pct(k.throttleRate)}, ${k.rateLimitCredits} credits/min at ` +
      `${k.requestCost} per call`,
    `#        web sessions: idle ${k.sessionIdleSeconds} s, max requests ${k.sessionMaxRequests || 'unlimited'}; ` +
      `access tokens ${k.accessTokenTtlSeconds} s; /pdf API ${k.pdfApi ? 'on' : 'off'}`,
    `#        throttled renders: ${pct(k.renderThrottleRate)} and the first ${k.renderThrottleFirst} per ` +
      `certificate, answered ${k.renderThrottleStatus} with Retry-After: ${k.retryAfterSeconds}`,
    `#        login: two-factor ${onOff(k.twoFactor)}, SSO redirect ${onOff(k.ssoRedirect)}, terms page ` +
      `${onOff(k.termsInterstitial)}; render without a session: ${k.expiryStyle}; PDF Content-Type: ` +
      `${k.pdfContentType}`,
    ...specialCertificates(sandbox),
    `# client credentials: AUTH_MODE=client-credentials with OAUTH_CLIENT_ID=${sandbox.basicClient.clientId} ` +
      `and OAUTH_CLIENT_SECRET=${sandbox.basicClient.clientSecret} (HTTP Basic), or OAUTH_CLIENT_ID=` +
      `${JWT_CLIENT_ID} with OAUTH_PRIVATE_KEY_FILE and OAUTH_KEY_ID (the key of --client-jwks)`,
    '# The lines below are a ready .env for the worker (test credentials). Ctrl+C stops the sandbox.',
    '',
  ].join('\n');
}

const onOff = (on: boolean) => (on ? 'on' : 'off');

/** One comment line per non-empty list of certificates the render URL treats specially. */
function specialCertificates(sandbox: Sandbox): string[] {
  const k = sandbox.knobs;
  const size = k.hugeBodyBytes === 0 ? 'endless' : `${k.hugeBodyBytes} bytes`;
  const lists: [readonly number[], string][] = [
    [k.forbiddenIssuedIds, 'answered 403'],
    [k.hugeBodyIssuedIds, `a huge body (${size})`],
    [k.offHostRedirectIssuedIds, `a 302 to ${sandbox.elsewhereUrl}`],
  ];
  return lists
    .filter(([ids]) => ids.length > 0)
    .map(([ids, what]) => `#        render of IssuedIds ${ids.join(',')}: ${what}`);
}
