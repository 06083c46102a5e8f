import type { RedisConnection } from '../util/redis-nodes.ts';
import type { ConfigWith } from '../config/shape.ts';
import type { Logger } from '../log/index.ts';
import { loadPrivateKey } from './private-key.ts';
import { RedisLock } from './redis-lock.ts';
import { SealedBox } from './sealed-box.ts';
import { createSessionHealer, type SessionRunner } from './session-consent.ts';
import { TokenEndpoint, type ClientAuthentication } from './token-endpoint.ts';
import { TokenProvider, type TokenProviderOptions } from './token-provider.ts';
import { TokenStore } from './token-store.ts';

export interface CreateTokenProviderOptions {
  /** The parsed config, with the LMS and SECRETS_KEY guaranteed (`loadConfig({ needs: ['lms', 'secrets-key'] })`). */
  config: Pick<ConfigWith<'lms' | 'secrets-key'>, 'lms' | 'secretsKey' | 'queuePrefix'> &
    Partial<Pick<ConfigWith<'lms' | 'secrets-key'>, 'secretsKeyPrevious'>>;
  redis: RedisConnection;
  logger: Logger;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Redis key prefix. Default: `config.queuePrefix` (`certharvest`). */
  keyPrefix?: string;
  /** `aud` of a private-key-JWT assertion. Default: `OAUTH_ASSERTION_AUD`, else the token endpoint URL. */
  assertionAudience?: string;
  /**
   * The fleet's web session: when the LMS refuses the refresh token, a new pair is obtained
   * through it (authorization code + PKCE) before anyone is asked to bootstrap again.
   */
  session?: SessionRunner;
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
      : {
          method: 'client_secret_basic',
          clientSecret: auth.clientSecret,
          // The LMS module's token quirk: `raw` sends id:secret as they are (Learn's Basic).
          encoding: auth.secretEncoding,
        };

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
  const heal =
    auth.kind === 'refresh-token' && options.session
      ? createSessionHealer(options.session, endpoint, {
          authorizeUrl: auth.authorizeUrl,
          clientId: auth.clientId,
          redirectUri: auth.redirectUri,
          scope: auth.scope,
          lmsUrl: lms.url,
          // The LMS module's consent page (the registry's choice), answered once as the service user.
          ...(lms.site.consent ? { consent: lms.site.consent } : {}),
          logger: options.logger,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        })
      : undefined;
  return new TokenProvider({
    ...options.tuning,
    ...(heal ? { heal } : {}),
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
