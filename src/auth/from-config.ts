import type { Redis } from 'ioredis';
import type { Config } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { loadPrivateKey } from './private-key.ts';
import { RedisLock } from './redis-lock.ts';
import { SealedBox } from './sealed-box.ts';
import { TokenEndpoint, type ClientAuthentication } from './token-endpoint.ts';
import { TokenProvider, type TokenProviderOptions } from './token-provider.ts';
import { TokenStore } from './token-store.ts';

export interface CreateTokenProviderOptions {
  config: Config;
  redis: Redis;
  logger: Logger;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Redis key prefix. Default: `config.queuePrefix` (`certharvest`). */
  keyPrefix?: string;
  /** `aud` of a private-key-JWT assertion. Default: the token endpoint URL. */
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
 * @throws ConfigError naming every missing variable
 */
export async function createTokenProvider(options: CreateTokenProviderOptions): Promise<TokenProvider> {
  const { config } = options;
  const problems: string[] = [];
  if (!config.lmsUrl) problems.push('LMS_URL: expected the LMS base URL (it is not set)');
  if (!config.oauth.clientId) problems.push('OAUTH_CLIENT_ID: expected the OAuth2 client id (it is not set)');
  if (!config.oauth.tokenUrl)
    problems.push('OAUTH_TOKEN_URL: expected the token endpoint URL (it is not set)');
  if (!config.secretsKey) {
    problems.push(
      'SECRETS_KEY: expected 32 random bytes in base64 (openssl rand -base64 32) (it is not set)',
    );
  }
  const privateKeyJwt = config.authMode === 'client-credentials' && config.lms === 'brightspace';
  if (privateKeyJwt) {
    if (!config.oauth.privateKeyFile) {
      problems.push(
        'OAUTH_PRIVATE_KEY_FILE: expected a PEM private key for the client assertion (it is not set)',
      );
    }
    if (!config.oauth.keyId)
      problems.push('OAUTH_KEY_ID: expected the key id registered in the JWKS (it is not set)');
  } else if (!config.oauth.clientSecret) {
    problems.push('OAUTH_CLIENT_SECRET: expected the OAuth2 client secret (it is not set)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const auth: ClientAuthentication = privateKeyJwt
    ? {
        method: 'private_key_jwt',
        privateKey: await loadPrivateKey(config.oauth.privateKeyFile!),
        ...(config.oauth.keyId ? { keyId: config.oauth.keyId } : {}),
        ...(options.assertionAudience ? { audience: options.assertionAudience } : {}),
      }
    : { method: 'client_secret_basic', clientSecret: config.oauth.clientSecret! };

  const store = new TokenStore({
    redis: options.redis,
    box: SealedBox.fromSecret(config.secretsKey!),
    host: new URL(config.lmsUrl!).host,
    clientId: config.oauth.clientId!,
    keyPrefix: options.keyPrefix ?? config.queuePrefix,
  });
  const endpoint = new TokenEndpoint({
    tokenUrl: config.oauth.tokenUrl!,
    clientId: config.oauth.clientId!,
    auth,
    scope: config.oauth.scope,
    ...(config.oauth.authorizeUrl ? { authorizeUrl: config.oauth.authorizeUrl } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return new TokenProvider({
    ...options.tuning,
    mode: config.authMode,
    store,
    lock: new RedisLock(options.redis, store.lockKey),
    endpoint,
    logger: options.logger,
    ...(config.oauth.refreshToken ? { initialRefreshToken: config.oauth.refreshToken } : {}),
  });
}
