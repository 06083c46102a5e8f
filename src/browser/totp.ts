import { authenticator } from 'otplib';
import type { Secret } from '../config/secret.ts';

/** The current one-time code of a base32 TOTP secret (RFC 6238: 30 s, 6 digits, SHA-1). */
export function totpCodes(secret: Secret): () => string {
  return () => authenticator.generate(secret.reveal());
}
