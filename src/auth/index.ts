export { beginAuthorization, validateCallback } from './bootstrap.ts';
export type { AuthorizationRequest, BeginAuthorizationOptions } from './bootstrap.ts';
export {
  AuthLockTimeoutError,
  AuthorizationFailedError,
  ConsentRequiredError,
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
  type ConsentFailure,
  type ReauthReason,
} from './errors.ts';
export { createTokenProvider, type CreateTokenProviderOptions } from './from-config.ts';
export { assertSecureUrl, isLoopbackUrl } from './loopback.ts';
export { importPrivateKeyPem, loadPrivateKey, publicJwks } from './private-key.ts';
export {
  RedisLock,
  runExclusive,
  type ExclusiveOptions,
  type HeldLock,
  type RedisLockOptions,
} from './redis-lock.ts';
export { SealedBox } from './sealed-box.ts';
export {
  authorizeThroughSession,
  createSessionHealer,
  findConsentForm,
  walkAuthorization,
  type ConsentForm,
  type SessionAuthorizationOptions,
  type SessionRunner,
  type WalkOptions,
  type WebSessionCredentials,
} from './session-consent.ts';
export {
  TokenEndpoint,
  type ClientAuthentication,
  type TokenEndpointOptions,
  type TokenResponse,
} from './token-endpoint.ts';
export { TokenProvider, type TokenProviderOptions, type TokenStatus } from './token-provider.ts';
export type { StoredToken } from './token-record.ts';
export { TokenStore, type TokenStoreOptions } from './token-store.ts';
