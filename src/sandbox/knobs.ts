/**
 * The sandbox's fault and policy knobs. All of them can change while it runs (`setKnobs`); every
 * request reads the current values.
 */
export interface SandboxKnobs {
  /** Milliseconds added before every response (OAuth, Valence and web). Default 0. */
  latencyMs: number;
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
  /** Serve `GET /d2l/api/bas/(v)/issued/certificates/(issuedId)/pdf`; 404 when off. Default false. */
  pdfApi: boolean;
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
}

export type RenderThrottleStatus = 429 | 503;
export const RENDER_THROTTLE_STATUSES: readonly RenderThrottleStatus[] = [429, 503];

export type TruncateStyle = 'content-length' | 'connection-close';
export const TRUNCATE_STYLES: readonly TruncateStyle[] = ['content-length', 'connection-close'];

export const DEFAULT_KNOBS: Readonly<SandboxKnobs> = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  truncateRate: 0,
  truncateStyle: 'content-length',
  throttleRate: 0,
  rateLimitCredits: 50_000,
  requestCost: 10,
  sessionIdleSeconds: 1800,
  sessionMaxRequests: 0,
  accessTokenTtlSeconds: 3600,
  pdfApi: false,
  replayRevokesChain: false,
  renderThrottleRate: 0,
  renderThrottleFirst: 0,
  renderThrottleStatus: 429,
  retryAfterSeconds: 1,
  unreachable: false,
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

const CHECKS: { [K in keyof SandboxKnobs]: Check } = {
  latencyMs: wholeNumber(0, 600_000),
  errorRate: rate,
  truncateRate: rate,
  truncateStyle: (v) =>
    TRUNCATE_STYLES.includes(v as TruncateStyle) ? undefined : `expected ${TRUNCATE_STYLES.join(' or ')}`,
  throttleRate: rate,
  rateLimitCredits: wholeNumber(0),
  requestCost: wholeNumber(0),
  sessionIdleSeconds: wholeNumber(1),
  sessionMaxRequests: wholeNumber(0),
  accessTokenTtlSeconds: wholeNumber(1),
  pdfApi: flag,
  replayRevokesChain: flag,
  renderThrottleRate: rate,
  renderThrottleFirst: wholeNumber(0),
  renderThrottleStatus: (v) =>
    RENDER_THROTTLE_STATUSES.includes(v as RenderThrottleStatus)
      ? undefined
      : `expected ${RENDER_THROTTLE_STATUSES.join(' or ')}`,
  retryAfterSeconds: wholeNumber(0, 3600),
  unreachable: flag,
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

function definedOnly(patch: Partial<SandboxKnobs>): Partial<SandboxKnobs> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}
