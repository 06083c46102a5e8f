import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import type { Sandbox, SandboxOptions } from '../../sandbox/index.ts';
// The knobs' values only: the sandbox itself (express, the OIDC provider, PDFs) is loaded when it runs.
import {
  CONSENT_PROMPTS,
  EXPIRY_STYLES,
  LEARN_ID_STYLES,
  LEARN_MARKUPS,
  PDF_CONTENT_TYPES,
  RENDER_THROTTLE_STATUSES,
  TRUNCATE_STYLES,
  type RenderThrottleStatus,
  type SandboxKnobs,
} from '../../sandbox/knobs.ts';
import { untilSignal } from '../signals.ts';

/** Seams for tests; the CLI uses the defaults. */
export interface SandboxCommandIo {
  /** Where the header and the `.env` block go. Default: stdout. */
  write?: (text: string) => void;
  /** Resolves when the sandbox should stop. Default: the first SIGINT or SIGTERM. */
  untilStop?: () => Promise<unknown>;
  /** Called once the sandbox serves. */
  onStarted?: (sandbox: Sandbox) => void;
}

interface RawOptions {
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

export function registerSandboxCommand(program: Command, io: SandboxCommandIo = {}): void {
  program
    .command('sandbox')
    .description(
      'run the bundled simulated LMS (Brightspace, or Learn with --lms blackboard) on its own and print the .env block to use it\n' +
        '(OAuth2 with one-use refresh tokens, Valence routes, web login, certificate PDFs; knobs inject faults)',
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port, 0 = any free port', '0')
    .option('--seed <n>', 'seed of the simulated institution (same seed, same data)', '1')
    .option('--users <n>', 'number of students', '40')
    .option('--awards-page-size <n>', 'issued awards per page', '5')
    .option('--users-page-size <n>', 'users per page of the /users/ listing', '10')
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
    .option('--replay-revokes-chain', 'a replayed refresh token also revokes its whole grant')
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
    .option('--off-host-redirect-issued-ids <ids>', 'render redirects these to another origin (302)')
    .addHelpText(
      'after',
      `
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
  certharvest sandbox --forbidden-issued-ids 10001,10002 --huge-body-bytes 0`,
    )
    .action(async (raw: RawOptions) => {
      const options = parseOptions(raw);
      const lms = raw.lms ?? 'brightspace';
      if (lms !== 'brightspace' && lms !== 'blackboard') {
        throw new UsageError(`--lms: expected "brightspace" or "blackboard", got "${lms}"`);
      }
      const write = io.write ?? ((text: string) => void process.stdout.write(text));
      const { formatEnvBlock, JWT_CLIENT_ID, startSandbox } = await import('../../sandbox/index.ts');
      const sandbox = await startSandbox(options);
      try {
        write(
          header(sandbox, lms, JWT_CLIENT_ID) +
            (lms === 'blackboard'
              ? Object.entries(sandbox.learnEnv)
                  .map(([k, v]) => `${k}=${/[\s"'$#]/.test(v) ? `'${v}'` : v}`)
                  .join('\n') + '\n'
              : formatEnvBlock(sandbox.env)),
        );
        io.onStarted?.(sandbox);
        const signal = await (io.untilStop ?? untilSignal)();
        if (typeof signal === 'string') console.error(`certharvest sandbox: ${signal}, stopping`);
      } finally {
        await sandbox.close();
      }
    });
}

/** Every flag checked once, here; a bad one is a UsageError naming it and what it expects. */
export function parseOptions(raw: RawOptions): SandboxOptions {
  const knobs: Partial<SandboxKnobs> = {};
  const setIf = <K extends keyof SandboxKnobs>(key: K, value: SandboxKnobs[K] | undefined) => {
    if (value !== undefined) knobs[key] = value;
  };
  setIf('latencyMs', optionalWhole('--latency-ms', raw.latencyMs, 0, 600_000));
  setIf('errorRate', optionalRate('--error-rate', raw.errorRate));
  setIf('truncateRate', optionalRate('--truncate-rate', raw.truncateRate));
  setIf('truncateStyle', optionalOneOf('--truncate-style', raw.truncateStyle, TRUNCATE_STYLES));
  setIf('throttleRate', optionalRate('--throttle-rate', raw.throttleRate));
  setIf('rateLimitCredits', optionalWhole('--rate-limit-credits', raw.rateLimitCredits, 0));
  setIf('requestCost', optionalWhole('--request-cost', raw.requestCost, 0));
  setIf('sessionIdleSeconds', optionalWhole('--session-idle-seconds', raw.sessionIdleSeconds, 1));
  setIf('sessionMaxRequests', optionalWhole('--session-max-requests', raw.sessionMaxRequests, 0));
  setIf('accessTokenTtlSeconds', optionalWhole('--access-token-ttl', raw.accessTokenTtl, 1));
  setIf('refreshTokenDisuseSeconds', optionalWhole('--refresh-token-disuse', raw.refreshTokenDisuse, 1));
  setIf('pdfApi', raw.pdfApi);
  setIf('newerApiVersions', raw.newerApiVersions);
  setIf('pdfApiScopeMissing', raw.pdfApiScopeMissing);
  setIf('orgStructureScopeMissing', raw.orgStructureScopeMissing);
  setIf('replayRevokesChain', raw.replayRevokesChain);
  setIf('renderThrottleRate', optionalRate('--render-throttle-rate', raw.renderThrottleRate));
  setIf('renderThrottleFirst', optionalWhole('--render-throttle-first', raw.renderThrottleFirst, 0));
  setIf('renderThrottleStatus', optionalStatus(raw.renderThrottleStatus));
  setIf('retryAfterSeconds', optionalWhole('--retry-after-seconds', raw.retryAfterSeconds, 0, 3600));
  setIf('twoFactor', raw.twoFactor);
  setIf('ssoRedirect', raw.ssoRedirect);
  setIf('termsInterstitial', raw.termsInterstitial);
  setIf('learnMarkup', optionalOneOf('--learn-markup', raw.learnMarkup, LEARN_MARKUPS));
  setIf('learnIds', optionalOneOf('--learn-ids', raw.learnIds, LEARN_ID_STYLES));
  setIf('consentPrompt', optionalOneOf('--consent-prompt', raw.consentPrompt, CONSENT_PROMPTS));
  setIf('expiryStyle', optionalOneOf('--expiry-style', raw.expiryStyle, EXPIRY_STYLES));
  setIf('pdfContentType', optionalOneOf('--pdf-content-type', raw.pdfContentType, PDF_CONTENT_TYPES));
  setIf('forbiddenIssuedIds', optionalIds('--forbidden-issued-ids', raw.forbiddenIssuedIds));
  setIf('hugeBodyIssuedIds', optionalIds('--huge-body-issued-ids', raw.hugeBodyIssuedIds));
  setIf('hugeBodyBytes', optionalWhole('--huge-body-bytes', raw.hugeBodyBytes, 0));
  setIf(
    'offHostRedirectIssuedIds',
    optionalIds('--off-host-redirect-issued-ids', raw.offHostRedirectIssuedIds),
  );
  if (raw.host.trim() === '') throw new UsageError('--host: expected an interface address such as 127.0.0.1');
  return {
    host: raw.host,
    port: whole('--port', raw.port, 0, 65535),
    seed: whole('--seed', raw.seed, 0, 2 ** 31 - 1),
    userCount: whole('--users', raw.users, 0, 100_000),
    awardsPageSize: whole('--awards-page-size', raw.awardsPageSize, 1, 200),
    usersPageSize: whole('--users-page-size', raw.usersPageSize, 1, 1000),
    knobs,
    ...(raw.clientJwks === undefined ? {} : { clientJwks: readJwks(raw.clientJwks) }),
  };
}

/** `--client-jwks FILE`: a public JWKS (`{"keys": [...]}`, as `certharvest auth jwks` prints). */
function readJwks(file: string): { keys: object[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--client-jwks: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === 'object')) {
    throw new UsageError(`--client-jwks: ${file} is not a JWKS (expected {"keys": [ … ]})`);
  }
  for (const key of keys as Record<string, unknown>[]) {
    if ('d' in key) throw new UsageError(`--client-jwks: ${file} holds a private key; give the public JWKS`);
  }
  return { keys: keys as object[] };
}

function whole(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag}: expected a whole number ${range} (got "${value}")`);
  }
  return n;
}

function optionalWhole(flag: string, value: string | undefined, min: number, max?: number) {
  return value === undefined ? undefined : whole(flag, value, min, max);
}

function optionalRate(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*\d*\.?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 1))
    throw new UsageError(`${flag}: expected a number from 0 to 1, e.g. 0.05 (got "${value}")`);
  return n;
}

function optionalOneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]) {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value.trim());
  if (found === undefined) throw new UsageError(`${flag}: expected ${allowed.join(' or ')} (got "${value}")`);
  return found;
}

/** Comma-separated IssuedIds, e.g. `10001,10002`; an empty value is an empty list. */
function optionalIds(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.trim() === '' ? [] : value.split(',').map((p) => p.trim());
  const ids = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (ids.some((id) => !Number.isSafeInteger(id))) {
    throw new UsageError(
      `${flag}: expected comma-separated whole numbers, e.g. 10001,10002 (got "${value}")`,
    );
  }
  return ids;
}

function optionalStatus(value: string | undefined): RenderThrottleStatus | undefined {
  if (value === undefined) return undefined;
  const status = RENDER_THROTTLE_STATUSES.find((s) => String(s) === value.trim());
  if (status === undefined) {
    throw new UsageError(
      `--render-throttle-status: expected ${RENDER_THROTTLE_STATUSES.join(' or ')} (got "${value}")`,
    );
  }
  return status;
}

/** Comment lines, so the whole output is a valid .env file (`certharvest sandbox > .env`). */
function header(sandbox: Sandbox, lms: string, jwtClientId: string): string {
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
      `${jwtClientId} with OAUTH_PRIVATE_KEY_FILE and OAUTH_KEY_ID (the key of --client-jwks)`,
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
