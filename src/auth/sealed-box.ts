import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Secret } from '../config/secret.ts';
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
  /** Keys of before a rotation: values still open with them; nothing is sealed with them. */
  readonly #previous: Buffer[];

  /** @param key exactly 32 bytes; `previous`, the same, for values sealed before a rotation */
  constructor(key: Uint8Array, previous: readonly Uint8Array[] = []) {
    for (const k of [key, ...previous]) {
      if (k.length !== KEY_BYTES) {
        throw new SealedBoxError(`SECRETS_KEY must be ${KEY_BYTES} bytes, got ${k.length}`);
      }
    }
    this.#key = Buffer.from(key);
    this.#previous = previous.map((k) => Buffer.from(k));
  }

  /**
   * From `SECRETS_KEY` (32 random bytes, base64), as `config.secretsKey` holds it, and
   * `SECRETS_KEY_PREVIOUS` when a rotation is under way: read with either, write with the new.
   */
  static fromSecret(secretsKey: Secret, previous?: Secret): SealedBox {
    const bytes = (s: Secret) => Buffer.from(s.reveal(), 'base64');
    return new SealedBox(bytes(secretsKey), previous ? [bytes(previous)] : []);
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
    let failure: unknown;
    for (const key of [this.#key, ...this.#previous]) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch (cause) {
        failure ??= cause;
      }
    }
    throw new SealedBoxError(
      'sealed value does not open: it was sealed with another SECRETS_KEY or for another context, or it was modified ' +
        '(after a key rotation, set the old key as SECRETS_KEY_PREVIOUS)',
      { cause: failure },
    );
  }

  openString(sealed: string, context: string): string {
    return this.open(sealed, context).toString('utf8');
  }
}
