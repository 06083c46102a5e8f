import { createHash } from 'node:crypto';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { sleep } from '../util/with-timeout.ts';
import { SealedBoxError, TokenStoreError } from './errors.ts';
import type { SealedBox } from './sealed-box.ts';
import { storedTokenSchema, type StoredToken } from './token-record.ts';

export interface TokenStoreOptions {
  redis: RedisConnection;
  box: SealedBox;
  /** The LMS host (e.g. `school.brightspace.com`); tokens are kept per host + client id. */
  host: string;
  clientId: string;
  /** Redis key prefix. Default `certharvest`. */
  keyPrefix?: string;
}

/**
 * The current token record for one LMS host + client id, in one Redis string, sealed with
 * AES-256-GCM (the key name is the authenticated context). No TTL: the refresh token inside must
 * outlive any restart.
 */
export class TokenStore {
  readonly key: string;
  /** The key of the refresh lock that guards this record (see redis-lock.ts). */
  readonly lockKey: string;
  readonly #redis: RedisConnection;
  readonly #box: SealedBox;

  constructor(options: TokenStoreOptions) {
    if (!options.host) throw new TypeError('TokenStore: host must not be empty');
    if (!options.clientId) throw new TypeError('TokenStore: clientId must not be empty');
    const prefix = options.keyPrefix ?? 'certharvest';
    // Hashed so the key name reveals neither the client id nor the host to someone listing keys.
    const id = createHash('sha256').update(`${options.host}|${options.clientId}`).digest('hex').slice(0, 16);
    this.key = `${prefix}:auth:${id}`;
    this.lockKey = `${this.key}:lock`;
    this.#redis = options.redis;
    this.#box = options.box;
  }

  /** @returns the stored record, or undefined when nothing is stored. */
  async read(): Promise<StoredToken | undefined> {
    let sealed: string | null;
    try {
      sealed = await this.#redis.get(this.key);
    } catch (cause) {
      throw new TokenStoreError(`token store: Redis read failed: ${message(cause)}`, true, { cause });
    }
    if (sealed === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(this.#box.openString(sealed, this.key));
    } catch (cause) {
      const why = cause instanceof SealedBoxError ? cause.message : 'the decrypted value is not JSON';
      throw new TokenStoreError(
        `token store ${this.key}: ${why}. If SECRETS_KEY changed, bootstrap again (certharvest auth bootstrap).`,
        false,
        { cause },
      );
    }
    const parsed = storedTokenSchema.safeParse(json);
    if (!parsed.success) {
      throw new TokenStoreError(`token store ${this.key}: the stored record has an unknown shape`, false);
    }
    return parsed.data;
  }

  async write(record: StoredToken): Promise<void> {
    const sealed = this.#box.seal(JSON.stringify(record), this.key);
    try {
      await this.#redis.set(this.key, sealed);
    } catch (cause) {
      throw new TokenStoreError(`token store: Redis write failed: ${message(cause)}`, true, { cause });
    }
  }

  /** `write`, tried three times (100 ms, then 200 ms apart): a Redis failover takes a moment. */
  async writeRetrying(record: StoredToken): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.write(record);
      } catch (error) {
        if (attempt >= 2) throw error;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  async clear(): Promise<void> {
    await this.#redis.del(this.key);
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
