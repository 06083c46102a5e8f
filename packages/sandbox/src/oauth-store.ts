import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; Infinity when the model has no TTL. */
  expiresAt: number;
}

export interface OAuthStoreOptions {
  /** Called when a refresh token that was already used is looked up again. */
  onRefreshTokenReplay(): void;
  /** Whether a replay should revoke the grant (oidc-provider's reuse detection) or only fail. */
  replayRevokesChain(): boolean;
}

/**
 * oidc-provider's storage, one per sandbox. oidc-provider ships an in-memory adapter, but it is
 * one LRU of ~1000 entries shared by every provider in the process: a long demo or a test file
 * with several sandboxes could evict a live grant and turn a good refresh token into
 * `invalid_grant`. This one keeps everything until it expires, and never uses a timer (expired
 * entries are dropped when met or on a periodic sweep during writes), so `close()` has nothing
 * to stop.
 */
export class OAuthStore {
  readonly #entries = new Map<string, Entry>();
  readonly #grantMembers = new Map<string, Set<string>>();
  readonly #sessionUids = new Map<string, string>();
  readonly #options: OAuthStoreOptions;
  #writesSinceSweep = 0;

  constructor(options: OAuthStoreOptions) {
    this.#options = options;
  }

  /** The `adapter` factory for the provider configuration: one adapter per model name. */
  adapterFor = (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        this.#sweepSometimes();
        const k = key(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        this.#entries.set(k, { payload, expiresAt });
        if (payload.grantId) this.#addToGrant(payload.grantId, k);
        if (model === 'Session' && payload.uid) this.#sessionUids.set(payload.uid, id);
      },
      find: async (id) => {
        const payload = this.#get(key(id));
        if (model === 'RefreshToken' && payload?.consumed) {
          this.#options.onRefreshTokenReplay();
          // IdentityServer (Brightspace's token service) forgets a one-time refresh token once
          // used, so a replay is "not found": invalid_grant, and the rest of the chain lives on.
          if (!this.#options.replayRevokesChain()) return undefined;
        }
        return payload;
      },
      findByUid: async (uid) => {
        const id = this.#sessionUids.get(uid);
        return id === undefined ? undefined : this.#get(key(id));
      },
      // The device flow is off; nothing is ever stored by user code.
      findByUserCode: async () => undefined,
      consume: async (id) => {
        const payload = this.#get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const k of this.#grantMembers.get(grantId) ?? []) this.#entries.delete(k);
        this.#grantMembers.delete(grantId);
      },
    };
  };

  /**
   * What an administrator revoking the app's tokens does: every grant and every refresh token
   * still usable is deleted, so each of them is `invalid_grant` from now on. Access tokens
   * already issued live on until they expire (Brightspace's are self-contained JWTs) unless
   * `accessTokens` is set. Returns how many usable refresh tokens were revoked; used ones stay,
   * so presenting one still counts as a replay.
   */
  revokeRefreshTokens(options: { accessTokens: boolean }): number {
    let revoked = 0;
    for (const k of [...this.#entries.keys()]) {
      const payload = this.#get(k);
      if (!payload) continue;
      if (k.startsWith('RefreshToken:') && !payload.consumed) {
        this.#entries.delete(k);
        revoked++;
      } else if (k.startsWith('Grant:') || (options.accessTokens && k.startsWith('AccessToken:'))) {
        this.#entries.delete(k);
      }
    }
    return revoked;
  }

  /** A client oidc-provider was not configured with (it asks the adapter for unknown ids). */
  putClient(clientId: string, metadata: AdapterPayload): void {
    this.#entries.set(`Client:${clientId}`, { payload: metadata, expiresAt: Infinity });
  }

  #get(k: string): AdapterPayload | undefined {
    const entry = this.#entries.get(k);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(k);
      return undefined;
    }
    return entry.payload;
  }

  #addToGrant(grantId: string, k: string): void {
    const members = this.#grantMembers.get(grantId) ?? new Set<string>();
    members.add(k);
    this.#grantMembers.set(grantId, members);
  }

  #sweepSometimes(): void {
    if (++this.#writesSinceSweep < 500) return;
    this.#writesSinceSweep = 0;
    const now = Date.now();
    for (const [k, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(k);
    for (const [grantId, members] of this.#grantMembers) {
      for (const k of members) if (!this.#entries.has(k)) members.delete(k);
      if (members.size === 0) this.#grantMembers.delete(grantId);
    }
    for (const [uid, id] of this.#sessionUids)
      if (!this.#entries.has(`Session:${id}`)) this.#sessionUids.delete(uid);
  }
}
