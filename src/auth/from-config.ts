import type { Redis } from 'ioredis';
import type { ConfigWith } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { loadPrivateKey } from './private-key.ts';
import { RedisLock } from './redis-lock.ts';
import { SealedBox } from './sealed-box.ts';
import { TokenEndpoint, type ClientAuthentication } from './token-endpoint.ts';
import { TokenProvider, type TokenProviderOptions } from './token-provider.ts';
import { TokenStore } from './token-store.ts';

export interface CreateTokenProviderOptions {
  /** The parsed config, with the LMS and SECRETS_KEY guaranteed (`loadConfig({ needs: ['lms', 'secrets-key'] })`). */
  config: Pick<ConfigWith<'lms' | 'secrets-key'>, 'lms' | 'secretsKey' | 'queuePrefix'> &
    Partial<Pick<ConfigWith<'lms' | 'secrets-key'>, 'secretsKeyPrevious'>>;
  redis: Redis;
  logger: Logger;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Redis key prefix. Default: `config.queuePrefix` (`certharvest`). */
  keyPrefix?: string;
  /** `aud` of a private-key-JWT assertion. Default: `OAUTH_ASSERTION_AUD`, else the token endpoint URL. */
  assertionAudience?: string;
  /** Fine-tuning passed on to the provider (refresh margins, lock waits). */
  tuning?: Pick<
    TokenProviderOptions,
    'refreshAheadMs' | 'refreshAheadRatio' | 'defaultLifetimeSec' | 'lockWaitMs' | 'lockPollMs'
  >;
}

/**
 * Build the TokenProvider the config describes: the sealed Redis store keyed by LMS host + client
 * id, its lock, and the token endpoint with the right client authentication (Basic secret for
 * refresh tokens and Blackboard; a private-key JWT for Brightspace client credentials).
 */
export async function createTokenProvider(options: CreateTokenProviderOptions): Promise<TokenProvider> {
  const { lms, secretsKey, queuePrefix } = options.config;
  const auth = lms.auth;
  const clientAuth: ClientAuthentication =
    auth.kind === 'private-key-jwt'
      ? {
          method: 'private_key_jwt',
          privateKey: await loadPrivateKey(auth.privateKeyFile),
          keyId: auth.keyId,
          ...((options.assertionAudience ?? auth.assertionAudience)
            ? { audience: options.assertionAudience ?? auth.assertionAudience }
            : {}),
        }
      : { method: 'client_secret_basic', clientSecret: auth.clientSecret };

  const store = new TokenStore({
    redis: options.redis,
    box: SealedBox.fromSecret(secretsKey, options.config.secretsKeyPrevious),
    host: lms.host,
    clientId: auth.clientId,
    keyPrefix: options.keyPrefix ?? queuePrefix,
  });
  const endpoint = new TokenEndpoint({
    tokenUrl: auth.tokenUrl,
    clientId: auth.clientId,
    auth: clientAuth,
    scope: auth.scope,
    ...(auth.kind === 'refresh-token' ? { authorizeUrl: auth.authorizeUrl } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return new TokenProvider({
    ...options.tuning,
    mode: auth.mode,
    store,
    lock: new RedisLock(options.redis, store.lockKey),
    endpoint,
    logger: options.logger,
    ...(auth.kind === 'refresh-token' && auth.initialRefreshToken
      ? { initialRefreshToken: auth.initialRefreshToken }
      : {}),
  });
}
