import type { Secret } from '../config/secret.ts';
import { withComponent, type Logger } from '../log/index.ts';
import { validateCallback, type AuthorizationRequest } from './bootstrap.ts';
import {
  AuthLockTimeoutError,
  reauthErrorFor,
  ReauthRequiredError,
  TokenStoreError,
  unhealedError,
} from './errors.ts';
import { runExclusive, type HeldLock, type RedisLock } from './redis-lock.ts';
import type { TokenEndpoint, TokenResponse } from './token-endpoint.ts';
import {
  fingerprint,
  isLive,
  needsRenewal,
  refusedRecord,
  renewedRecord,
  type AuthMode,
  type LiveToken,
  type RecordContext,
  type StoredToken,
} from './token-record.ts';
import { tokenStatus, type TokenStatus } from './token-status.ts';

import type { TokenStore } from './token-store.ts';
import { providerSettings, type TokenProviderOptions } from './token-provider-options.ts';

export type { TokenStatus } from './token-status.ts';
export type { TokenProviderOptions } from './token-provider-options.ts';

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
    this.#heal = options.heal;
    ({
      ahead: this.#ahead,
      defaultLifetimeMs: this.#defaultLifetimeMs,
      lockWaitMs: this.#lockWaitMs,
      lockPollMs: this.#lockPollMs,
      now: this.#now,
    } = providerSettings(options));
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
    return tokenStatus(await this.#store.read(), this.mode, this.#store.key, this.#now());
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
      const got = await runExclusive(
        this.#lock,
        {
          waitMs: Math.max(0, deadline - this.#now()),
          pollMs: this.#lockPollMs,
          now: this.#now,
          // Another process may renew meanwhile: then its pair is ours too.
          ready: async () => {
            const current = await this.#store.read();
            if (fresh(current)) return current;
            this.#assertRenewable(current);
            return undefined;
          },
          onBusy: () => {
            throw new AuthLockTimeoutError(
              `another certharvest process held the token refresh lock (${this.#store.lockKey}) for over ${this.#lockWaitMs} ms`,
            );
          },
        },
        (held) => this.#renewHeld(held, fresh),
      );
      if (got !== 'retry') return (this.#cached = got);
    }
  }

  /** Under the lock: re-read (the holder before us may have just renewed), renew, store. */
  async #renewHeld(
    held: HeldLock,
    fresh: (record: StoredToken | undefined) => record is LiveToken,
  ): Promise<LiveToken | 'retry'> {
    const latest = await this.#store.read();
    if (fresh(latest)) return latest;
    const renewed = await this.#renew(latest, held);
    if (renewed === 'retry') return 'retry';
    try {
      await this.#persist(renewed);
    } catch (error) {
      // The new pair could not be written: keep the lock until it expires, so no other process
      // replays the refresh token we just consumed; #unsaved is retried first next time.
      held.keep();
      this.#keptLock = held.token;
      throw error;
    }
    this.#rejected = undefined;
    return renewed;
  }

  /** Throw at once, without a network call, when renewal cannot possibly work. */
  #assertRenewable(record: StoredToken | undefined): void {
    if (this.mode !== 'refresh-token') return;
    if (this.#refreshTokenOf(record) !== undefined || this.#importable(record) !== undefined) return;
    // A refused token may still be healed through the web session (e.g. after a session import).
    if (this.#heal && record?.mode === this.mode && record.reauthRequired) return;
    throw reauthErrorFor(this.mode, record);
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
  async #renew(latest: StoredToken | undefined, held: HeldLock): Promise<LiveToken | 'retry'> {
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
      const healed = await this.#healed(latest, held);
      if (healed) return healed;
      throw this.#withHealFailure(reauthErrorFor(this.mode, latest));
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
      const healed = await this.#healed(latest, held);
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

  /** Say why the web session could not heal it, when it was tried (once). */
  #withHealFailure(error: ReauthRequiredError): ReauthRequiredError {
    const failure = this.#healFailure;
    this.#healFailure = undefined;
    return failure === undefined ? error : unhealedError(error, failure);
  }

  /**
   * The refresh token was refused: get a new pair through the web session, under the token lock
   * (kept alive meanwhile: a login may take longer than the lock's TTL), so the fleet heals once.
   */
  async #healed(latest: StoredToken | undefined, held: HeldLock): Promise<LiveToken | undefined> {
    if (!this.#heal) return undefined;
    this.#log.warn(
      'the LMS refused the refresh token (invalid_grant); getting a new pair through the web session',
    );
    const release = held.hold();
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
    const record = refusedRecord(this.mode, latest, {
      requestedAt,
      importedFingerprint,
      scope: this.#endpoint.scope,
      now: this.#now(),
    });
    await this.#store
      .write(record)
      .catch((err: unknown) => this.#log.warn({ err }, 'could not record the refused refresh token'));
  }

  #toRecord(response: TokenResponse, previous: StoredToken | undefined, context: RecordContext): LiveToken {
    return renewedRecord(this.mode, response, previous, {
      ...context,
      defaultLifetimeMs: this.#defaultLifetimeMs,
      scope: this.#endpoint.scope,
    });
  }

  async #persist(record: StoredToken): Promise<void> {
    try {
      await this.#store.writeRetrying(record);
      this.#unsaved = undefined;
    } catch (cause) {
      this.#unsaved = record;
      this.#cached = undefined;
      throw new TokenStoreError(
        'could not save the renewed token pair to Redis; it is kept in memory and saved before the next use',
        true,
        { cause },
      );
    }
  }

  async #underLock(work: () => Promise<void>): Promise<void> {
    const options = {
      waitMs: this.#lockWaitMs,
      pollMs: this.#lockPollMs,
      now: this.#now,
      onBusy: () => {
        throw new AuthLockTimeoutError(`the token refresh lock (${this.#store.lockKey}) stayed busy`);
      },
    };
    await runExclusive(this.#lock, options, async () => {
      await work();
      this.#cached = undefined;
      this.#rejected = undefined;
    });
  }
}
