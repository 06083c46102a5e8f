import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Secret } from '../config/index.ts';
import { SealedBoxError } from './errors.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/**
 * AES-256-GCM encryption for secrets kept at rest (tokens, browser cookies in Redis).
 *
 * A sealed value is `v1.<base64url(iv | tag | ciphertext)>`: a fresh random 96-bit IV per seal, and
 * a `context` string bound in as additional authenticated data, so a value copied to another Redis
 * key (another host, another client) fails to open instead of being silently used there.
 */
export class SealedBox {
  readonly #key: Buffer;

  /** @param key exactly 32 bytes */
  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new SealedBoxError(`SECRETS_KEY must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
  }

  /** From `SECRETS_KEY` (32 random bytes, base64), as `config.secretsKey` holds it. */
  static fromSecret(secretsKey: Secret): SealedBox {
    return new SealedBox(Buffer.from(secretsKey.reveal(), 'base64'));
  }

  seal(plaintext: string | Uint8Array, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
    const packed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
    return `${VERSION}.${packed.toString('base64url')}`;
  }

  /** @throws SealedBoxError when the value is malformed, was sealed with another key or context, or was modified. */
  open(sealed: string, context: string): Buffer {
    const dot = sealed.indexOf('.');
    if (dot < 0 || sealed.slice(0, dot) !== VERSION) {
      throw new SealedBoxError(`not a sealed value (expected the prefix "${VERSION}.")`);
    }
    const packed = Buffer.from(sealed.slice(dot + 1), 'base64url');
    if (packed.length < IV_BYTES + TAG_BYTES) throw new SealedBoxError('sealed value is truncated');
    const iv = packed.subarray(0, IV_BYTES);
    const tag = packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const ciphertext = packed.subarray(IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (cause) {
      throw new SealedBoxError(
        'sealed value does not open: it was sealed with another SECRETS_KEY or for another context, or it was modified',
        { cause },
      );
    }
  }

  openString(sealed: string, context: string): string {
    return this.open(sealed, context).toString('utf8');
  }
}
