import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import {
  RedisLock,
  SealedBox,
  TokenEndpoint,
  TokenProvider,
  TokenStore,
  type ClientAuthentication,
  type TokenProviderOptions,
} from '../../src/auth/index.ts';
import { Secret } from '../../src/config/index.ts';
import { createLogger, type Logger } from '../../src/log/index.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { StubTokenServer, type StubTokenServerOptions } from './stub-token-server.ts';

export const LMS_HOST = 'school.example.edu';

/** A logger whose lines the test can read back. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

export interface AuthHarness {
  redis: Redis;
  prefix: string;
  box: SealedBox;
  server: StubTokenServer;
  logger: Logger;
  logLines: string[];
  store(box?: SealedBox): TokenStore;
  endpoint(overrides?: Partial<ConstructorParameters<typeof TokenEndpoint>[0]>): TokenEndpoint;
  provider(
    options?: Partial<Omit<TokenProviderOptions, 'initialRefreshToken'>> & {
      initial?: string;
      auth?: ClientAuthentication;
      tokenUrl?: string;
      timeoutMs?: number;
    },
  ): TokenProvider;
  close(): Promise<void>;
}

/** Real Redis under a unique prefix, a stub token endpoint, and factories wired to both. */
export async function authHarness(serverOptions: StubTokenServerOptions = {}): Promise<AuthHarness> {
  const redis = new Redis(testRedisUrl());
  const prefix = uniquePrefix('auth');
  const box = new SealedBox(randomBytes(32));
  const server = await StubTokenServer.start(serverOptions);
  const { logger, lines } = captureLogger();
  const store = (b = box) =>
    new TokenStore({ redis, box: b, host: LMS_HOST, clientId: server.clientId, keyPrefix: prefix });
  const endpoint: AuthHarness['endpoint'] = (overrides = {}) =>
    new TokenEndpoint({
      tokenUrl: server.tokenUrl,
      authorizeUrl: server.authorizeUrl,
      clientId: server.clientId,
      auth: { method: 'client_secret_basic', clientSecret: new Secret(server.clientSecret) },
      scope: 'core:*:*',
      ...overrides,
    });
  return {
    redis,
    prefix,
    box,
    server,
    logger,
    logLines: lines,
    store,
    endpoint,
    provider(options = {}) {
      const { initial, auth, tokenUrl, timeoutMs, ...rest } = options;
      const s = rest.store ?? store();
      return new TokenProvider({
        mode: 'refresh-token',
        store: s,
        lock: new RedisLock(redis, s.lockKey),
        endpoint: endpoint({
          ...(auth ? { auth } : {}),
          ...(tokenUrl ? { tokenUrl } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        }),
        logger,
        lockPollMs: 20,
        ...rest,
        ...(initial !== undefined ? { initialRefreshToken: new Secret(initial) } : {}),
      });
    },
    async close() {
      await server.close();
      await redis.quit();
    },
  };
}

/** Every key under `prefix` with its value (strings and hashes), for "nothing in plain text" checks. */
export async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  let out = '';
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : `(${type})`;
      out += `${key} ${value}\n`;
    }
  } while (cursor !== '0');
  return out;
}
