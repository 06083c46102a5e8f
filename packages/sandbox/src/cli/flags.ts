import type { Command } from 'commander';
import {
  CONSENT_PROMPTS,
  EXPIRY_STYLES,
  LEARN_ID_STYLES,
  LEARN_MARKUPS,
  PDF_CONTENT_TYPES,
  TRUNCATE_STYLES,
} from '../knobs.ts';

/** The flags of `certharvest sandbox` as commander gives them to the action (every value a string). */
export interface SandboxFlags {
  lms?: string;
  host: string;
  port: string;
  seed: string;
  users: string;
  awardsPageSize: string;
  usersPageSize: string;
  latencyMs?: string;
  errorRate?: string;
  truncateRate?: string;
  truncateStyle?: string;
  throttleRate?: string;
  rateLimitCredits?: string;
  requestCost?: string;
  sessionIdleSeconds?: string;
  sessionMaxRequests?: string;
  accessTokenTtl?: string;
  pdfApi?: boolean;
  newerApiVersions?: boolean;
  refreshTokenDisuse?: string;
  clientJwks?: string;
  pdfApiScopeMissing?: boolean;
  orgStructureScopeMissing?: boolean;
  replayRevokesChain?: boolean;
  renderThrottleRate?: string;
  renderThrottleFirst?: string;
  renderThrottleStatus?: string;
  retryAfterSeconds?: string;
  twoFactor?: boolean;
  ssoRedirect?: boolean;
  termsInterstitial?: boolean;
  expiryStyle?: string;
  pdfContentType?: string;
  forbiddenIssuedIds?: string;
  hugeBodyIssuedIds?: string;
  hugeBodyBytes?: string;
  offHostRedirectIssuedIds?: string;
  learnMarkup?: string;
  learnIds?: string;
  consentPrompt?: string;
}

/** Every flag of `certharvest sandbox`, with its help line, added to `command`. */
export function addSandboxFlags(command: Command): Command {
  addInstitutionFlags(command);
  addApiFaultFlags(command);
  addRenderAndLoginFlags(command);
  return command.addHelpText('after', EXAMPLES);
}

/** Where it listens and which institution it plays. */
function addInstitutionFlags(command: Command): void {
  command
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port, 0 = any free port', '0')
    .option('--seed <n>', 'seed of the simulated institution (same seed, same data)', '1')
    .option('--users <n>', 'number of students', '40')
    .option('--awards-page-size <n>', 'issued awards per page', '5')
    .option('--users-page-size <n>', 'users per page of the /users/ listing', '10');
}

/** The API's and OAuth server's faults and limits (and which `.env` it prints). */
function addApiFaultFlags(command: Command): void {
  command
    .option('--latency-ms <ms>', 'delay added to every response (default 0)')
    .option('--error-rate <0..1>', 'share of API, render and /pdf requests answered 500/502/503 (default 0)')
    .option('--truncate-rate <0..1>', 'share of PDFs served cut short (default 0)')
    .option(
      '--truncate-style <style>',
      `how PDFs are cut: ${TRUNCATE_STYLES.join(' or ')} (default content-length)`,
    )
    .option('--throttle-rate <0..1>', 'share of API requests answered 429 Retry-After: 1 (default 0)')
    .option('--rate-limit-credits <n>', 'API credits per minute (default 50000)')
    .option('--request-cost <n>', 'credits per API call, sent as X-Request-Cost (default 10)')
    .option('--session-idle-seconds <s>', 'web session idle expiry (default 1800)')
    .option(
      '--session-max-requests <n>',
      'web session dies after N authenticated requests; 0 = never (default 0)',
    )
    .option('--access-token-ttl <s>', 'access token lifetime (default 3600)')
    .option(
      '--refresh-token-disuse <s>',
      'a refresh token unused this long expires (default 2592000, 30 days)',
    )
    .option(
      '--client-jwks <file>',
      'register a private-key-JWT client-credentials client with this JWKS (certharvest auth jwks)',
    )
    .option('--lms <kind>', 'the .env printed: brightspace or blackboard (it serves both)', 'brightspace')
    .option('--pdf-api', 'serve GET .../certificates/(id)/pdf to bearer tokens (default: 404)')
    .option('--newer-api-versions', 'offer only lp 1.54-1.56 and bas 1.5-1.6 (newer than certharvest knows)')
    .option(
      '--pdf-api-scope-missing',
      'the bearer /pdf route answers 403 naming the awards:certificate:read scope',
    )
    .option(
      '--org-structure-scope-missing',
      'lp orgstructure/(orgUnitId) answers 403 naming the orgunits:course:read scope (no course names)',
    )
    .option('--replay-revokes-chain', 'a replayed refresh token also revokes its whole grant');
}

/** The certificate renders, the web login, and Learn's pages. */
function addRenderAndLoginFlags(command: Command): void {
  command
    .option(
      '--render-throttle-rate <0..1>',
      'share of certificate renders that would get the PDF refused instead (default 0)',
    )
    .option(
      '--render-throttle-first <n>',
      'the first N such renders of each certificate are refused (default 0)',
    )
    .option('--render-throttle-status <429|503>', 'status of a refused render (default 429)')
    .option('--retry-after-seconds <s>', 'Retry-After of a refused render in seconds, 0 to 3600 (default 1)')
    .option('--two-factor', 'ask for a TOTP code after the password (adds LMS_TOTP_SECRET)')
    .option('--sso-redirect', 'GET /d2l/login redirects to an SSO page unless ?noredirect=1')
    .option('--terms-interstitial', 'a new session must accept a terms page before it works')
    .option(
      '--learn-markup <markup>',
      `Learn's achievements pages: ${LEARN_MARKUPS.join(', ')} (a table at another path, signed links; default default)`,
    )
    .option(
      '--learn-ids <style>',
      `Learn's primary ids: ${LEARN_ID_STYLES.join(', ')} (_N_4 and UUIDs too; default n1)`,
    )
    .option(
      '--consent-prompt <mode>',
      `the OAuth consent page for a new client: ${CONSENT_PROMPTS.join(', ')} (default new-client)`,
    )
    .option(
      '--expiry-style <style>',
      `render URL without a session: ${EXPIRY_STYLES.join(', ')} (default login-page)`,
    )
    .option(
      '--pdf-content-type <type>',
      `Content-Type of a rendered PDF: ${PDF_CONTENT_TYPES.join(', ')} (default application/pdf)`,
    )
    .option('--forbidden-issued-ids <ids>', 'render answers 403 for these IssuedIds, e.g. 10001,10002')
    .option('--huge-body-issued-ids <ids>', 'render streams a huge body without Content-Length for these')
    .option('--huge-body-bytes <n>', 'size of a huge body; 0 = endless (default 536870912 = 512 MiB)')
    .option('--off-host-redirect-issued-ids <ids>', 'render redirects these to another origin (302)');
}

const EXAMPLES = `
Knobs and their defaults: docs/sandbox.md. The unreachable knob has no flag
(a sandbox that starts unreachable is of no use); set it from code with
sb.setKnobs({ unreachable: true }).

Examples:
  certharvest sandbox > .env
  certharvest sandbox --lms blackboard > .env   # for Blackboard Learn
  certharvest sandbox --lms blackboard --learn-markup table --learn-ids mixed
  certharvest sandbox --port 8080 --seed 7 --users 200 --pdf-api
  certharvest sandbox --truncate-rate 0.05 --truncate-style connection-close
  certharvest sandbox --render-throttle-first 1 --retry-after-seconds 2
  certharvest sandbox --render-throttle-rate 0.2 --render-throttle-status 503
  certharvest sandbox --two-factor --terms-interstitial --expiry-style redirect
  certharvest sandbox --forbidden-issued-ids 10001,10002 --huge-body-bytes 0`;
