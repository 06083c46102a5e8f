import type { Secret } from '../config/secret.ts';
import { withComponent, type Logger } from '../log/index.ts';
import { validateCallback, type AuthorizationRequest } from './bootstrap.ts';
import { AuthLockTimeoutError, ReauthRequiredError, TokenStoreError } from './errors.ts';
import type { RedisLock } from './redis-lock.ts';
import type { TokenEndpoint, TokenResponse } from './token-endpoint.ts';
import {
  fingerprint,
  isLive,
  needsRenewal,
  type AuthMode,
  type LiveToken,
  type StoredToken,
} from './token-record.ts';
import type { TokenStore } from './token-store.ts';

export interface TokenProviderOptions {
  mode: AuthMode;
  store: TokenStore;
  /** Guards `store` across processes; build it on `store.lockKey`. */
  lock: RedisLock;
  endpoint: TokenEndpoint;
  logger: Logger;
  /**
   * `OAUTH_REFRESH_TOKEN`: imported into the store only when the store has no usable refresh token
   * and this value was never imported before. After that the store's rotated token is the truth.
   */
  initialRefreshToken?: Secret;
  /** Renew when less than this many ms of the token's life remain. Default 60 000. */
  refreshAheadMs?: number;
  /** ...or when less than this fraction of its lifetime remains. Default 0.1. */
  refreshAheadRatio?: number;
  /** Lifetime assumed when the token response has no `expires_in`. Default 3600 s. */
  defaultLifetimeSec?: number;
  /** How long to wait for another process's refresh before giving up. Default 30 000 ms. */
  lockWaitMs?: number;
  /** How often a waiter re-reads the store while another process refreshes. Default 50 ms. */
  lockPollMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Get a new pair without a person when the LMS refuses the refresh token: the
   * authorization-code flow through the service user's web session (`createSessionHealer`).
   * Only when it fails too is the refusal reported.
   */
  heal?: () => Promise<TokenResponse>;
}

/** What `certharvest auth status` shows. Never a secret. */
export interface TokenStatus {
  mode: AuthMode;
  state: 'valid' | 'expired' | 'reauth-required' | 'not-bootstrapped';
  /** The Redis key the record lives under. */
  storeKey: string;
  expiresAt?: Date;
  /** When the current access token was obtained (i.e. last refreshed). */
  obtainedAt?: Date;
  refreshCount?: number;
  hasRefreshToken: boolean;
  scope?: string;
  reauthReason?: string;
}

/**
 * Hands out a valid access token, renewing it ahead of expiry. One refresher at a time: in this
 * process concurrent callers share one renewal (single flight), and across processes a Redis
 * lock admits one renewer while the others re-read the store once it is done. A renewed pair is
 * written to the store before anyone uses the access token, because with one-use refresh tokens
 * the old one is already dead.
 */
export class TokenProvider {
  readonly mode: AuthMode;
  readonly #store: TokenStore;
  readonly #lock: RedisLock;
  readonly #endpoint: TokenEndpoint;
  readonly #log: Logger;
  readonly #initial: Secret | undefined;
  readonly #ahead: { ms: number; ratio: number };
  readonly #defaultLifetimeMs: number;
  readonly #lockWaitMs: number;
  readonly #lockPollMs: number;
  readonly #now: () => number;
  readonly #heal: (() => Promise<TokenResponse>) | undefined;

  #cached: LiveToken | undefined;
  /** Why the last healing through the web session failed, for the refusal's message. */
  #healFailure: string | undefined;
  #rejected: string | undefined;
  #inflight: Promise<LiveToken> | undefined;
  /** A renewed pair Redis refused to take: written before anything else happens. */
  #unsaved: StoredToken | undefined;
  /** The lock kept while `#unsaved` waits, released once it is written. */
  #keptLock: string | undefined;

  constructor(options: TokenProviderOptions) {
    this.mode = options.mode;
    this.#store = options.store;
    this.#lock = options.lock;
    this.#endpoint = options.endpoint;
    // Callers usually hand a logger already bound to component "auth": bind it only when missing.
    this.#log = withComponent(options.logger, 'auth', { mode: options.mode });
    this.#initial = options.initialRefreshToken;
    this.#ahead = { ms: options.refreshAheadMs ?? 60_000, ratio: options.refreshAheadRatio ?? 0.1 };
    this.#defaultLifetimeMs = (options.defaultLifetimeSec ?? 3600) * 1000;
    this.#lockWaitMs = options.lockWaitMs ?? 30_000;
    this.#lockPollMs = options.lockPollMs ?? 50;
    this.#now = options.now ?? Date.now;
    this.#heal = options.heal;
    if (this.#ahead.ratio < 0 || this.#ahead.ratio >= 1) {
      throw new TypeError(`TokenProvider: refreshAheadRatio must be in [0, 1), got ${this.#ahead.ratio}`);
    }
  }

  async getAccessToken(): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#usable(cached)) return cached.accessToken;
    this.#inflight ??= this.#obtain().finally(() => (this.#inflight = undefined));
    return (await this.#inflight).accessToken;
  }

  /**
   * Renew now even though the access token is still good (the idle keep-alive): a refresh token
   * nobody uses expires on many tenants. Every process of the fleet sees the rotated pair. In
   * client-credentials mode there is nothing to keep alive; this only makes sure a token is at hand.
   */
  async rotate(): Promise<TokenStatus> {
    if (this.mode === 'refresh-token') {
      await this.#inflight?.catch(() => undefined);
      const since = this.#now();
      this.#inflight ??= this.#obtain(since).finally(() => (this.#inflight = undefined));
      await this.#inflight;
    } else {
      await this.getAccessToken();
    }
    return this.status();
  }

  invalidate(accessToken?: string): void {
    const rejected = accessToken ?? this.#cached?.accessToken;
    if (rejected === undefined) return;
    this.#rejected = rejected;
    if (this.#cached?.accessToken === rejected) this.#cached = undefined;
    this.#log.debug('access token invalidated after a 401');
  }

  async status(): Promise<TokenStatus> {
    const record = await this.#store.read();
    const base = { mode: this.mode, storeKey: this.#store.key };
    if (!record || record.mode !== this.mode) {
      return { ...base, state: 'not-bootstrapped', hasRefreshToken: false };
    }
    const dead = record.reauthRequired !== undefined;
    const state = dead ? 'reauth-required' : record.expiresAt > this.#now() ? 'valid' : 'expired';
    return {
      ...base,
      state,
      ...(record.accessToken ? { expiresAt: new Date(record.expiresAt) } : {}),
      obtainedAt: new Date(record.obtainedAt),
      refreshCount: record.refreshCount,
      hasRefreshToken: record.refreshToken !== undefined,
      scope: record.scope,
      ...(record.reauthRequired ? { reauthReason: record.reauthRequired.reason } : {}),
    };
  }

  /**
   * Exchange `refreshToken` once and store the resulting pair, replacing whatever was stored
   * (`certharvest auth bootstrap --refresh-token`).
   */
  async importRefreshToken(refreshToken: Secret | string): Promise<TokenStatus> {
    const token = typeof refreshToken === 'string' ? refreshToken : refreshToken.reveal();
    await this.#underLock(async () => {
      const previous = await this.#store.read().catch(() => undefined);
      const requestedAt = this.#now();
      const response = await this.#endpoint.refresh(token);
      await this.#persist(
        this.#toRecord(response, previous, {
          requestedAt,
          sentRefreshToken: token,
          importedFingerprint: fingerprint(token),
        }),
      );
    });
    this.#log.info('refresh token imported into the token store');
    return this.status();
  }

  /**
   * Finish `certharvest auth bootstrap`: check the callback against `request` (state, errors),
   * exchange the code with its PKCE verifier, and store the resulting pair.
   */
  async exchangeAuthorizationCode(
    request: AuthorizationRequest,
    callback: URL | URLSearchParams | string,
  ): Promise<TokenStatus> {
    const params = validateCallback(this.#endpoint, request, callback);
    await this.#underLock(async () => {
      const previous = await this.#store.read().catch(() => undefined);
      const requestedAt = this.#now();
      const response = await this.#endpoint.authorizationCode(
        params,
        request.redirectUri,
        request.codeVerifier,
      );
      await this.#persist(
        this.#toRecord(response, previous, {
          requestedAt,
          importedFingerprint: previous?.importedFingerprint,
        }),
      );
    });
    this.#log.info('token pair from the authorization code stored');
    return this.status();
  }

  #usable(record: StoredToken | undefined): record is LiveToken {
    return (
      isLive(record, this.mode) &&
      record.accessToken !== this.#rejected &&
      !needsRenewal(record, this.#now(), this.#ahead)
    );
  }

  /** @param freshSince when set, a stored token obtained before this instant is renewed anyway. */
  async #obtain(freshSince?: number): Promise<LiveToken> {
    if (this.#unsaved) {
      await this.#persist(this.#unsaved);
      if (this.#keptLock) await this.#lock.release(this.#keptLock).catch(() => undefined);
      this.#keptLock = undefined;
    }
    const deadline = this.#now() + this.#lockWaitMs;
    const fresh = (record: StoredToken | undefined): record is LiveToken =>
      this.#usable(record) && (freshSince === undefined || record.obtainedAt >= freshSince);
    for (;;) {
      const current = await this.#store.read();
      if (fresh(current)) return (this.#cached = current);
      this.#assertRenewable(current);
      const holder = await this.#lock.tryAcquire();
      if (holder !== undefined) {
        let persisted = true;
        try {
          // Re-read under the lock: the holder before us may have just renewed.
          const latest = await this.#store.read();
          if (fresh(latest)) return (this.#cached = latest);
          const renewed = await this.#renew(latest, holder);
          if (renewed === 'retry') continue;
          persisted = false;
          await this.#persist(renewed);
          persisted = true;
          this.#rejected = undefined;
          return (this.#cached = renewed);
        } finally {
          // When the new pair could not be written, keep the lock until it expires, so no other
          // process replays the refresh token we just consumed; #unsaved is retried first next time.
          if (persisted) await this.#lock.release(holder).catch(() => undefined);
          else this.#keptLock = holder;
        }
      }
      if (this.#now() > deadline) {
        throw new AuthLockTimeoutError(
          `another certharvest process held the token refresh lock (${this.#store.lockKey}) for over ${this.#lockWaitMs} ms`,
        );
      }
      await sleep(this.#lockPollMs);
    }
  }

  /** Throw at once, without a network call, when renewal cannot possibly work. */
  #assertRenewable(record: StoredToken | undefined): void {
    if (this.mode !== 'refresh-token') return;
    if (this.#refreshTokenOf(record) !== undefined || this.#importable(record) !== undefined) return;
    // A refused token may still be healed through the web session (e.g. after a session import).
    if (this.#heal && record?.mode === this.mode && record.reauthRequired) return;
    throw this.#reauthError(record);
  }

  #reauthError(record: StoredToken | undefined): ReauthRequiredError {
    if (record?.mode === this.mode && record.reauthRequired) {
      return new ReauthRequiredError(
        'invalid_grant',
        `The stored refresh token was refused by the LMS (${record.reauthRequired.reason}) and no new one was given.`,
      );
    }
    return new ReauthRequiredError(
      'not-bootstrapped',
      'No refresh token is stored for this LMS and client, and OAUTH_REFRESH_TOKEN is not set (or was already used).',
    );
  }

  #refreshTokenOf(record: StoredToken | undefined): string | undefined {
    return record?.mode === this.mode && !record.reauthRequired ? record.refreshToken : undefined;
  }

  /** The env token, when it may be imported: never twice, and never over a working stored token. */
  #importable(record: StoredToken | undefined): string | undefined {
    if (!this.#initial) return undefined;
    const value = this.#initial.reveal();
    return record?.importedFingerprint === fingerprint(value) ? undefined : value;
  }

  /** @returns the renewed record, or 'retry' when the store changed under us and should be re-read. */
  async #renew(latest: StoredToken | undefined, holder: string): Promise<LiveToken | 'retry'> {
    const requestedAt = this.#now();
    if (this.mode === 'client-credentials') {
      const response = await this.#endpoint.clientCredentials();
      this.#log.info('access token obtained (client credentials)');
      return this.#toRecord(response, latest, { requestedAt });
    }
    const stored = this.#refreshTokenOf(latest);
    const imported = stored === undefined ? this.#importable(latest) : undefined;
    const refreshToken = stored ?? imported;
    if (refreshToken === undefined) {
      const healed = await this.#healed(latest, holder);
      if (healed) return healed;
      throw this.#withHealFailure(this.#reauthError(latest));
    }
    try {
      const response = await this.#endpoint.refresh(refreshToken);
      const fp = imported !== undefined ? fingerprint(imported) : latest?.importedFingerprint;
      this.#log.info(
        { refreshCount: (latest?.refreshCount ?? 0) + 1 },
        imported !== undefined
          ? 'OAUTH_REFRESH_TOKEN imported into the token store'
          : 'access token refreshed',
      );
      return this.#toRecord(response, latest, {
        requestedAt,
        sentRefreshToken: refreshToken,
        importedFingerprint: fp,
      });
    } catch (error) {
      if (!(error instanceof ReauthRequiredError)) throw error;
      // Someone may have rotated the token after we read it (a lock that expired under a slow
      // holder): then the store holds a newer token and the refusal says nothing about it.
      const newer = this.#refreshTokenOf(await this.#store.read());
      if (newer !== undefined && newer !== refreshToken) return 'retry';
      const healed = await this.#healed(latest, holder);
      if (healed) return healed;
      await this.#markDead(latest, imported, requestedAt);
      this.#cached = undefined;
      this.#log.error(
        imported !== undefined
          ? 'OAUTH_REFRESH_TOKEN was refused (invalid_grant): run `certharvest auth bootstrap`'
          : 'stored refresh token was refused (invalid_grant): run `certharvest auth bootstrap`',
      );
      throw this.#withHealFailure(error);
    }
  }

  /** Say why the web session could not heal it, when it was tried. */
  #withHealFailure(error: ReauthRequiredError): ReauthRequiredError {
    const failure = this.#healFailure;
    if (failure === undefined) return error;
    this.#healFailure = undefined;
    return new ReauthRequiredError(
      error.reason,
      `The LMS refused the refresh token, and a new pair could not be had through the web session (${failure}).`,
      { cause: error },
    );
  }

  /**
   * The refresh token was refused: get a new pair through the web session, under the token lock
   * (kept alive meanwhile: a login may take longer than the lock's TTL), so the fleet heals once.
   */
  async #healed(latest: StoredToken | undefined, holder: string): Promise<LiveToken | undefined> {
    if (!this.#heal) return undefined;
    this.#log.warn(
      'the LMS refused the refresh token (invalid_grant); getting a new pair through the web session',
    );
    const release = this.#lock.hold(holder);
    try {
      const requestedAt = this.#now();
      const response = await this.#heal();
      this.#log.warn(
        'new token pair obtained through the web session (authorization code); no action needed',
      );
      return this.#toRecord(response, latest, {
        requestedAt,
        importedFingerprint: latest?.importedFingerprint,
      });
    } catch (err) {
      this.#healFailure = err instanceof Error ? err.message : String(err);
      this.#log.error({ err }, 'could not get a new token pair through the web session');
      return undefined;
    } finally {
      release();
    }
  }

  /** Remember the refusal, so later calls fail at once instead of replaying a dead token. */
  async #markDead(latest: StoredToken | undefined, imported: string | undefined, requestedAt: number) {
    const importedFingerprint = imported !== undefined ? fingerprint(imported) : latest?.importedFingerprint;
    await this.#store
      .write({
        v: 1,
        mode: this.mode,
        expiresAt: 0,
        scope: latest?.scope ?? this.#endpoint.scope ?? '',
        obtainedAt: latest?.obtainedAt ?? requestedAt,
        refreshCount: latest?.refreshCount ?? 0,
        ...(importedFingerprint !== undefined ? { importedFingerprint } : {}),
        reauthRequired: { at: this.#now(), reason: 'invalid_grant' },
      })
      .catch((err: unknown) => this.#log.warn({ err }, 'could not record the refused refresh token'));
  }

  #toRecord(response: TokenResponse, previous: StoredToken | undefined, context: RecordContext): LiveToken {
    const lifetimeMs =
      response.expiresInSec !== undefined ? response.expiresInSec * 1000 : this.#defaultLifetimeMs;
    // A server that does not rotate leaves the token we sent valid: keep it.
    const refreshToken = response.refreshToken ?? context.sentRefreshToken;
    return {
      v: 1,
      mode: this.mode,
      accessToken: response.accessToken,
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      expiresAt: context.requestedAt + lifetimeMs,
      scope: response.scope ?? this.#endpoint.scope ?? '',
      obtainedAt: context.requestedAt,
      refreshCount: previous?.mode === this.mode ? previous.refreshCount + 1 : 1,
      ...(context.importedFingerprint !== undefined
        ? { importedFingerprint: context.importedFingerprint }
        : {}),
    };
  }

  async #persist(record: StoredToken): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#store.write(record);
        this.#unsaved = undefined;
        return;
      } catch (error) {
        lastError = error;
        if (attempt < 2) await sleep(100 * 2 ** attempt);
      }
    }
    this.#unsaved = record;
    this.#cached = undefined;
    throw new TokenStoreError(
      'could not save the renewed token pair to Redis; it is kept in memory and saved before the next use',
      true,
      { cause: lastError },
    );
  }

  async #underLock(work: () => Promise<void>): Promise<void> {
    const deadline = this.#now() + this.#lockWaitMs;
    for (;;) {
      const holder = await this.#lock.tryAcquire();
      if (holder !== undefined) {
        try {
          await work();
          this.#cached = undefined;
          this.#rejected = undefined;
          return;
        } finally {
          await this.#lock.release(holder).catch(() => undefined);
        }
      }
      if (this.#now() > deadline) {
        throw new AuthLockTimeoutError(`the token refresh lock (${this.#store.lockKey}) stayed busy`);
      }
      await sleep(this.#lockPollMs);
    }
  }
}

interface RecordContext {
  requestedAt: number;
  /** The refresh token sent, kept when the response does not rotate it. */
  sentRefreshToken?: string;
  importedFingerprint?: string | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
