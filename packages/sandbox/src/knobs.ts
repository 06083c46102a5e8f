/**
 * The sandbox's fault and policy knobs. All of them can change while it runs (`setKnobs`); every
 * request reads the current values.
 */
export interface SandboxKnobs {
  /** Milliseconds added before every response (OAuth, Valence and web). Default 0. */
  latencyMs: number;
  /**
   * `latencyMs` only before certificate answers (the render URL and the bearer `/pdf` route):
   * logins and listings answer at once. What the benchmark's download phase runs on. Default false.
   */
  latencyCertificatesOnly: boolean;
  /** 0..1: share of Valence, render and `/pdf` requests answered 500, 502 or 503. Default 0. */
  errorRate: number;
  /** 0..1: share of PDF responses (render and `/pdf`) cut short; see `truncateStyle`. Default 0. */
  truncateRate: number;
  /**
   * How a PDF is cut short. `content-length` (default): the header announces the whole PDF, half
   * the bytes are sent, then the connection is dropped — what a reset connection or a proxy
   * timeout does to an HTTP/1.1 download. `connection-close`: no Content-Length, half the bytes,
   * then a clean close — the body looks complete to HTTP, only the PDF's own structure shows it
   * is not.
   */
  truncateStyle: TruncateStyle;
  /** 0..1: share of Valence requests answered 429 with `Retry-After: 1`, budget or not. Default 0. */
  throttleRate: number;
  /** Credits in the rate-limit bucket per minute (real Brightspace: 50 000). Default 50 000. */
  rateLimitCredits: number;
  /** Credits each Valence call costs, sent as `X-Request-Cost` (real: 10). Default 10. */
  requestCost: number;
  /** A web session dies after this many idle seconds. Default 1800. */
  sessionIdleSeconds: number;
  /** A web session dies after this many authenticated web requests; 0 = never. Default 0. */
  sessionMaxRequests: number;
  /** Lifetime of new access tokens, in seconds. Default 3600. */
  accessTokenTtlSeconds: number;
  /**
   * A refresh token not used for this many seconds expires (a tenant's disuse limit; each rotation
   * starts a new one). Default 2592000 (30 days).
   */
  refreshTokenDisuseSeconds: number;
  /** Serve `GET /d2l/api/bas/(v)/issued/certificates/(issuedId)/pdf`; 404 when off. Default false. */
  pdfApi: boolean;
  /**
   * A tenant newer than the client: `/d2l/api/versions/` offers only `lp` 1.54–1.56 and `bas`
   * 1.5–1.6, and the routes answer under those versions only. Default false.
   */
  newerApiVersions: boolean;
  /**
   * The app lacks the scope of the bearer `/pdf` route: it answers 403 "Insufficient scope …
   * Required: awards:certificate:read" (with `pdfApi` on). Default false.
   */
  pdfApiScopeMissing: boolean;
  /**
   * The app lacks the scope of `GET /d2l/api/lp/(v)/orgstructure/(orgUnitId)`: it answers 403
   * "Insufficient scope … Required: orgunits:course:read". Default false.
   */
  orgStructureScopeMissing: boolean;
  /**
   * What a replayed (already used) refresh token does besides failing with `400 invalid_grant`.
   * false (default): nothing — the newer token of the chain keeps working, as IdentityServer's
   * one-time refresh tokens behave. true: the whole grant is revoked (oidc-provider's own reuse
   * detection), so the chain is dead and only a new bootstrap helps.
   */
  replayRevokesChain: boolean;
  /**
   * 0..1: share of certificate render requests refused with `renderThrottleStatus`, an HTML page
   * and `Retry-After: <retryAfterSeconds>`. Only requests that would otherwise get the PDF (a live
   * session, a certificate the user may see) are candidates. Default 0.
   */
  renderThrottleRate: number;
  /**
   * The first N render requests of each certificate that would otherwise get the PDF are
   * throttled, whatever `renderThrottleRate` says; counted afresh from each `setKnobs` that
   * includes this knob. Default 0.
   */
  renderThrottleFirst: number;
  /** The status of a throttled render request: 429 (default) or 503. */
  renderThrottleStatus: RenderThrottleStatus;
  /** Seconds sent as `Retry-After` on a throttled render request, 0..3600. Default 1. */
  retryAfterSeconds: number;
  /**
   * While true, every request (OAuth, Valence, web) has its connection destroyed before any byte
   * of a response: to a client the LMS is unreachable (a network error, no status). Default false.
   */
  unreachable: boolean;
  /**
   * D2L's native two-factor login: after a correct password the login form redirects to the code
   * entry page, and only a correct TOTP of `Sandbox.totpSecret` (RFC 6238, 30 s, 6 digits, SHA-1,
   * ±1 step) leads on to the session. Default false.
   */
  twoFactor: boolean;
  /**
   * An SSO tenant: `GET /d2l/login` redirects to the identity provider's page (`/sso/idp/login`);
   * only `/d2l/login?noredirect=1` shows the local form. Default false.
   */
  ssoRedirect: boolean;
  /**
   * After a successful login (and two-factor step), a terms-of-use page must be accepted before
   * the new session is usable. Default false.
   */
  termsInterstitial: boolean;
  /**
   * How the certificate render URL answers a request without a live session: `login-page`
   * (default: 200, the login page), `redirect` (302 to `/d2l/login?sessionExpired=1&target=…`),
   * `forbidden` (403, HTML) or `unauthorized` (401, HTML). `/d2l/home` always redirects to the login.
   */
  expiryStyle: ExpiryStyle;
  /**
   * The Content-Type of the render URL's PDF: `application/pdf` (default),
   * `application/octet-stream`, or `none` (no Content-Type header at all).
   */
  pdfContentType: PdfContentType;
  /** Certificates whose render URL answers `403 text/html` even to a live session. Default []. */
  forbiddenIssuedIds: readonly number[];
  /**
   * Certificates whose render URL (live session) streams `%PDF-1.7\n` and then `hugeBodyBytes`
   * filler bytes, without a Content-Length. Default [].
   */
  hugeBodyIssuedIds: readonly number[];
  /** Filler bytes of a huge body; 0 = endless, until the client goes away. Default 512 MiB. */
  hugeBodyBytes: number;
  /**
   * Certificates whose render URL (live session) answers 302 to another origin (the sandbox's
   * "elsewhere" server, `Sandbox.elsewhereUrl`). Default [].
   */
  offHostRedirectIssuedIds: readonly number[];
  /**
   * Blackboard Learn mode (`learn/`): lifetime of the site's client-credentials token, in seconds;
   * asking again while it is valid renews it for this long. Default 3600.
   */
  learnTokenTtlSeconds: number;
  /** Learn mode: the most items a REST listing page holds, whatever `limit` says. Default 200. */
  learnPageSize: number;
  /** Learn mode: REST calls per 24-hour window; once spent, 429 + `Retry-After`. Default 10000. */
  learnDailyQuota: number;
  /** Learn mode: every achievements page carries the hostile items (see docs/sandbox.md). Default false. */
  learnHostile: boolean;
  /** Learn mode: the achievements pages of these UserIds carry the hostile items. Default []. */
  learnHostileUserIds: readonly number[];
  /**
   * Learn mode: the markup of the achievements pages. `default`: the list of docs/blackboard.md.
   * `table`: another site's tool — the page at `/webapps/bb-achievements/course/{course}/user/{user}/earned`,
   * a table whose rows carry `data-record-id`, and path-style download links signed with an expiry
   * (`/webapps/bb-achievements/files/{course}/{user}/{id}/certificate.pdf?expires=…&sig=…`) that
   * the server checks: only the link the page shows works. The other markup's routes answer 404.
   * docs/examples/learn-table-profile.yaml reads it. Default `default`.
   */
  learnMarkup: LearnMarkup;
  /**
   * Learn mode: the form of primary ids, on REST and pages alike. `n1`: `_N_1` everywhere.
   * `mixed`: users, achievements and awards with an even N are `_N_4`, courses are UUIDs
   * (32 hex digits); only that form names them. Default `n1`.
   */
  learnIds: LearnIdStyle;
  /**
   * The consent page of an authorization (Brightspace's `/oauth2/auth`, Learn's 3LO
   * `authorizationcode`), for a logged-in user:
   * - `new-client` (default): asked once per user and client id; remembered once allowed.
   * - `off`: never asked (the app is trusted / pre-consented).
   * - `refuse`: asked, and whatever is pressed, the answer is `error=access_denied`.
   * - `ask-again`: asked, and after "Allow" asked again (never remembered).
   * - `other-page`: an unknown page ("awaiting your administrator's approval") instead, no form.
   */
  consentPrompt: ConsentPrompt;
}

export type ConsentPrompt = 'new-client' | 'off' | 'refuse' | 'ask-again' | 'other-page';
export const CONSENT_PROMPTS: readonly ConsentPrompt[] = [
  'new-client',
  'off',
  'refuse',
  'ask-again',
  'other-page',
];

export type LearnMarkup = 'default' | 'table';
export const LEARN_MARKUPS: readonly LearnMarkup[] = ['default', 'table'];

export type LearnIdStyle = 'n1' | 'mixed';
export const LEARN_ID_STYLES: readonly LearnIdStyle[] = ['n1', 'mixed'];

export type ExpiryStyle = 'login-page' | 'redirect' | 'forbidden' | 'unauthorized';
export const EXPIRY_STYLES: readonly ExpiryStyle[] = ['login-page', 'redirect', 'forbidden', 'unauthorized'];

export type PdfContentType = 'application/pdf' | 'application/octet-stream' | 'none';
export const PDF_CONTENT_TYPES: readonly PdfContentType[] = [
  'application/pdf',
  'application/octet-stream',
  'none',
];

export type RenderThrottleStatus = 429 | 503;
export const RENDER_THROTTLE_STATUSES: readonly RenderThrottleStatus[] = [429, 503];

export type TruncateStyle = 'content-length' | 'connection-close';
export const TRUNCATE_STYLES: readonly TruncateStyle[] = ['content-length', 'connection-close'];

export const DEFAULT_KNOBS: Readonly<SandboxKnobs> = Object.freeze({
  latencyMs: 0,
  latencyCertificatesOnly: false,
  errorRate: 0,
  truncateRate: 0,
  truncateStyle: 'content-length',
  throttleRate: 0,
  rateLimitCredits: 50_000,
  requestCost: 10,
  sessionIdleSeconds: 1800,
  sessionMaxRequests: 0,
  accessTokenTtlSeconds: 3600,
  refreshTokenDisuseSeconds: 30 * 24 * 60 * 60,
  pdfApi: false,
  newerApiVersions: false,
  pdfApiScopeMissing: false,
  orgStructureScopeMissing: false,
  replayRevokesChain: false,
  renderThrottleRate: 0,
  renderThrottleFirst: 0,
  renderThrottleStatus: 429,
  retryAfterSeconds: 1,
  unreachable: false,
  twoFactor: false,
  ssoRedirect: false,
  termsInterstitial: false,
  expiryStyle: 'login-page',
  pdfContentType: 'application/pdf',
  forbiddenIssuedIds: Object.freeze([]),
  hugeBodyIssuedIds: Object.freeze([]),
  hugeBodyBytes: 512 * 1024 * 1024,
  offHostRedirectIssuedIds: Object.freeze([]),
  learnTokenTtlSeconds: 3600,
  learnPageSize: 200,
  learnDailyQuota: 10_000,
  learnHostile: false,
  learnHostileUserIds: Object.freeze([]),
  learnMarkup: 'default',
  learnIds: 'n1',
  consentPrompt: 'new-client',
});

type Check = (value: unknown) => string | undefined;

const wholeNumber =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? undefined
      : `expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`;
const rate: Check = (v) =>
  typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'expected a number from 0 to 1';
const flag: Check = (v) => (typeof v === 'boolean' ? undefined : 'expected true or false');
const oneOf =
  (values: readonly unknown[]): Check =>
  (v) =>
    values.includes(v) ? undefined : `expected ${values.join(' or ')}`;
const issuedIds: Check = (v) =>
  Array.isArray(v) && v.every((id) => wholeNumber(0)(id) === undefined)
    ? undefined
    : 'expected an array of whole numbers (IssuedIds)';
const userIds: Check = (v) =>
  Array.isArray(v) && v.every((id) => wholeNumber(0)(id) === undefined)
    ? undefined
    : 'expected an array of whole numbers (UserIds)';

const CHECKS: { [K in keyof SandboxKnobs]: Check } = {
  latencyMs: wholeNumber(0, 600_000),
  latencyCertificatesOnly: flag,
  errorRate: rate,
  truncateRate: rate,
  truncateStyle: oneOf(TRUNCATE_STYLES),
  throttleRate: rate,
  rateLimitCredits: wholeNumber(0),
  requestCost: wholeNumber(0),
  sessionIdleSeconds: wholeNumber(1),
  sessionMaxRequests: wholeNumber(0),
  accessTokenTtlSeconds: wholeNumber(1),
  refreshTokenDisuseSeconds: wholeNumber(1),
  pdfApi: flag,
  newerApiVersions: flag,
  pdfApiScopeMissing: flag,
  orgStructureScopeMissing: flag,
  replayRevokesChain: flag,
  renderThrottleRate: rate,
  renderThrottleFirst: wholeNumber(0),
  renderThrottleStatus: oneOf(RENDER_THROTTLE_STATUSES),
  retryAfterSeconds: wholeNumber(0, 3600),
  unreachable: flag,
  twoFactor: flag,
  ssoRedirect: flag,
  termsInterstitial: flag,
  expiryStyle: oneOf(EXPIRY_STYLES),
  pdfContentType: oneOf(PDF_CONTENT_TYPES),
  forbiddenIssuedIds: issuedIds,
  hugeBodyIssuedIds: issuedIds,
  hugeBodyBytes: wholeNumber(0),
  offHostRedirectIssuedIds: issuedIds,
  learnTokenTtlSeconds: wholeNumber(1),
  learnPageSize: wholeNumber(1),
  learnDailyQuota: wholeNumber(0),
  learnHostile: flag,
  learnHostileUserIds: userIds,
  learnMarkup: oneOf(LEARN_MARKUPS),
  learnIds: oneOf(LEARN_ID_STYLES),
  consentPrompt: oneOf(CONSENT_PROMPTS),
};

/** Check a patch; throws a RangeError naming every bad knob and what it expects. */
export function validateKnobs(patch: Partial<SandboxKnobs>): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(patch)) {
    const check = CHECKS[name as keyof SandboxKnobs] as Check | undefined;
    if (!check) {
      problems.push(`${name}: unknown knob (known: ${Object.keys(CHECKS).join(', ')})`);
      continue;
    }
    if (value === undefined) continue;
    const problem = check(value);
    if (problem) problems.push(`${name}: ${problem} (got ${JSON.stringify(value)})`);
  }
  if (problems.length > 0) throw new RangeError(`invalid sandbox knobs: ${problems.join('; ')}`);
}

/** A validated, mutable holder of the current knob values. */
export class KnobBox {
  /** Replaced, never mutated, so a snapshot handed out stays true to its moment. */
  #values: Readonly<SandboxKnobs>;
  readonly #listeners: ((patch: Partial<SandboxKnobs>) => void)[] = [];

  constructor(initial: Partial<SandboxKnobs> = {}) {
    validateKnobs(initial);
    this.#values = Object.freeze({ ...DEFAULT_KNOBS, ...definedOnly(initial) });
  }

  get current(): Readonly<SandboxKnobs> {
    return this.#values;
  }

  set(patch: Partial<SandboxKnobs>): void {
    validateKnobs(patch);
    this.#values = Object.freeze({ ...this.#values, ...definedOnly(patch) });
    for (const listener of this.#listeners) listener(patch);
  }

  onChange(listener: (patch: Partial<SandboxKnobs>) => void): void {
    this.#listeners.push(listener);
  }
}

/** The patch without undefined values; arrays copied and frozen, so the caller keeps its own. */
function definedOnly(patch: Partial<SandboxKnobs>): Partial<SandboxKnobs> {
  return Object.fromEntries(
    Object.entries(patch)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? Object.freeze([...(v as unknown[])]) : v]),
  );
}
