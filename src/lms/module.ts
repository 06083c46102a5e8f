/**
 * What one LMS is to the rest of certharvest: one module per LMS (`src/lms/<kind>/module.ts`),
 * found through the registry (`src/lms/registry.ts`). The core never names an LMS: it reads the
 * configuration's `lms.site` (a `ConfiguredLms`, the module bound to its parsed settings) and asks
 * it for the web profile, the adapter and the doctor's checks.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { z } from 'zod';
import type { ConsentForm } from '../auth/session-consent.ts';
import type { AuthMode } from '../auth/token-record.ts';
import type { WebProfile, WebSession } from '../browser/index.ts';
import type { Check } from '../doctor/check.ts';
import type { DoctorState } from '../doctor/state.ts';
import type { Logger } from '../log/index.ts';
import type { RateStateStore } from './fleet-rate-state.ts';
import type { AccessTokenSource, LmsRequestObserver } from './http-client.ts';
import type { LmsAdapter, UserRefKind } from './ports.ts';

export type { AuthMode };
export type DownloadStrategy = 'auto' | 'api' | 'browser';

/** How this LMS's OAuth2 differs: defaults of the token settings, and how a client secret is sent. */
export interface TokenQuirks {
  /** AUTH_MODE when unset. */
  defaultMode: AuthMode;
  /** OAUTH_TOKEN_URL when unset. */
  tokenUrl(lmsUrl: string): string;
  /** OAUTH_AUTHORIZE_URL when unset. */
  authorizeUrl(lmsUrl: string): string;
  /** OAUTH_SCOPE when unset. */
  scope(mode: AuthMode): string;
  /**
   * How client credentials authenticate when the configuration does not say: `private-key-jwt`
   * unless a client secret is set without a key file, or always `client-secret`.
   */
  clientCredentials: 'private-key-jwt-unless-secret' | 'client-secret';
  /**
   * HTTP Basic of `client_id:client_secret`: `form` encodes both first (RFC 6749 §2.3.1), `raw`
   * sends them as they are.
   */
  basicEncoding: 'form' | 'raw';
}

/** What the configuration hands every module besides its own variables. */
export interface SharedLmsSettings {
  /** LMS base URL without a trailing slash. */
  url: string;
  /** `host[:port]` of `url`. */
  host: string;
  downloadStrategy: DownloadStrategy;
  /** Whether the service user's web login (LMS_USERNAME, LMS_PASSWORD) is configured. */
  webLogin: boolean;
  authMode: AuthMode;
  /** Resolves a path the configuration names (a site profile) against the working directory. */
  resolvePath(file: string): string;
}

/** What an adapter is built from: the fleet's shared parts. */
export interface AdapterContext {
  lmsUrl: string;
  tokens: AccessTokenSource;
  /** The fleet's web session when the web login is configured (or a session imported). */
  webSession: WebSession | undefined;
  /** DOWNLOAD_STRATEGY. */
  downloadStrategy: DownloadStrategy;
  logger: Logger;
  redis: RedisConnection;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** The fleet's shared view of the LMS's request budget. */
  rateState: RateStateStore;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Hears every API request the adapter sends (route kind, outcome, seconds): the worker's metrics. */
  observeLmsRequest?: LmsRequestObserver;
}

/** An adapter with the counters the worker's metrics read. */
export interface LmsAdapterHandle extends LmsAdapter {
  /** 429 and throttling answers seen by this process. */
  throttledAnswers(): number;
}

/** A batch's filters, as far as an LMS module needs to judge them. */
export interface FilterRequest {
  includeExpired?: boolean;
  issuedAfter?: string;
  issuedBefore?: string;
  orgUnitIds?: readonly (number | string)[];
}

/** What `certharvest inspect` looks at: one user, and one course or one certificate of theirs. */
export interface InspectTarget {
  user: { by: UserRefKind; value: string };
  /** The course (the LMS's own id); default: the user's first courses. */
  course?: string;
  /** One certificate (the LMS's own issued id); default: the first one found. */
  issuedId?: string;
}

/** What `certharvest inspect` prints: lines for a person, data for `--json`. */
export interface InspectReport {
  /** Whether what certharvest reads matched something it could harvest. */
  matched: boolean;
  /** For a terminal: plain lines (the CLI wraps them). */
  lines: string[];
  /** For `--json`: plain, serialisable, without secrets. */
  data: Record<string, unknown>;
}

/** What a kind of user reference must look like, and how to say it. */
export interface UserRefRule {
  test: RegExp;
  expected: string;
}

/** A module bound to its parsed settings: what the configuration's `lms.site` is. */
export interface ConfiguredLms {
  readonly kind: string;
  /** The product's name, e.g. for `auth status` and the doctor. */
  readonly title: string;
  /** The web login and "logged out" facts (the module's, with the site's overrides). */
  readonly webProfile: WebProfile;
  /** Whether discovery itself needs the web session (an LMS that lists certificates only on pages). */
  readonly discoversWithSession: boolean;
  /** Where a person can allow the app once, when an authorization walk meets the consent page. */
  readonly consent: ConsentForm | undefined;
  /** What is worth knowing about this LMS's tokens, said by the doctor's token step. */
  readonly tokenNote?: string;
  /** Settings worth showing (`doctor`, `inspect`): no secrets. */
  readonly summary: Readonly<Record<string, string>>;
  /**
   * What this LMS's user ids look like, when narrower than "any id": a submission refuses other
   * `userId` references at once (a user name given without `--by userName`), naming `expected`.
   */
  readonly userIdRule?: UserRefRule;
  createAdapter(context: AdapterContext): Promise<LmsAdapterHandle>;
  /**
   * What the fleet has spent of this LMS's own budgets (a daily call quota…), for `auth status`:
   * a key and value for `--json`, and one line for a person. Undefined when there is none.
   */
  usage?(redis: RedisConnection, prefix: string): Promise<{ key: string; value: unknown; line: string }>;
  /**
   * `certharvest inspect`: read what this LMS shows for one user (and course or certificate) with
   * the fleet's token and session, as the worker would, and say what certharvest makes of it.
   */
  inspect(context: AdapterContext, target: InspectTarget): Promise<InspectReport>;
  /**
   * Filters this site cannot apply, each with the reason (what its pages do not carry, and how to
   * declare it); empty when every filter applies.
   */
  unsupportedFilters(filters: FilterRequest): string[];
  /**
   * The LMS's steps of `certharvest doctor`, between the fleet check and the output check (see
   * src/doctor/doctor.ts), loaded when the doctor runs.
   */
  doctorChecks(): Promise<readonly Check<DoctorState>[]>;
}

/** One LMS: its configuration branch, token quirks and web profile; bound by `configure`. */
export interface LmsModule<Env extends z.ZodObject = z.ZodObject> {
  /** The value of `LMS`. */
  readonly kind: string;
  readonly title: string;
  /** An example base URL, for messages. */
  readonly exampleUrl: string;
  /** The variables only this LMS reads, with `LMS: z.literal(kind)`: a branch of the config's union. */
  readonly env: Env;
  readonly token: TokenQuirks;
  /** The LMS's own web login defaults (LMS_LOGIN_* and a site profile override them). */
  readonly webProfile: WebProfile;
  /** The module bound to its parsed variables, or the problems (one line each, naming the variable). */
  configure(env: z.output<Env>, shared: SharedLmsSettings): ConfiguredLms | { problems: string[] };
}

/** Declare a module (keeps `configure`'s argument typed by the module's own `env`). */
export function defineLmsModule<Env extends z.ZodObject>(module: LmsModule<Env>): LmsModule<Env> {
  return module;
}
