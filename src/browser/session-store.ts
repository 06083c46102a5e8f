import { createHash } from 'node:crypto';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { z } from 'zod';
import type { SealedBox } from '../auth/sealed-box.ts';
import { TokenStoreError } from '../auth/errors.ts';

/** The fleet's web session, as kept in Redis (sealed): what every worker downloads with. */
export const sessionRecordSchema = z.object({
  v: z.literal(1),
  /** Bumped by each login: a worker that saw generation N fail asks for N + 1, not another login. */
  generation: z.number().int().nonnegative(),
  cookies: z.array(z.object({ name: z.string(), value: z.string() })),
  userAgent: z.string(),
  /** ms since the epoch. */
  obtainedAt: z.number(),
  /** How it was obtained: a login by a worker, or a storage state a person imported. */
  source: z.enum(['login', 'import']),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/**
 * One sealed record per LMS host in Redis (AES-256-GCM with SECRETS_KEY, the key name as its
 * authenticated context), plus the key of the lock that admits one login at a time.
 */
export class SessionStore {
  readonly key: string;
  readonly lockKey: string;
  readonly #redis: RedisConnection;
  readonly #box: SealedBox;

  constructor(options: { redis: RedisConnection; box: SealedBox; host: string; keyPrefix: string }) {
    const id = createHash('sha256').update(options.host).digest('hex').slice(0, 16);
    this.key = `${options.keyPrefix}:session:${id}`;
    this.lockKey = `${this.key}:lock`;
    this.#redis = options.redis;
    this.#box = options.box;
  }

  async read(): Promise<SessionRecord | undefined> {
    const sealed = await this.#redis.get(this.key);
    if (sealed === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(this.#box.openString(sealed, this.key));
    } catch (cause) {
      throw new TokenStoreError(`session store ${this.key}: it does not open with this SECRETS_KEY`, false, {
        cause,
      });
    }
    const parsed = sessionRecordSchema.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  }

  async write(record: SessionRecord): Promise<void> {
    await this.#redis.set(this.key, this.#box.seal(JSON.stringify(record), this.key));
  }

  async clear(): Promise<void> {
    await this.#redis.del(this.key);
  }
}
