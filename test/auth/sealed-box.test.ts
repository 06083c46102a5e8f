import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SealedBox, SealedBoxError } from '../../src/auth/index.ts';
import { Secret } from '../../src/config/index.ts';

describe('SealedBox', () => {
  const box = new SealedBox(randomBytes(32));

  it('opens what it sealed, and each seal looks different', () => {
    const a = box.seal('refresh-token-123', 'ctx');
    const b = box.seal('refresh-token-123', 'ctx');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('refresh-token-123');
    expect(box.openString(a, 'ctx')).toBe('refresh-token-123');
    expect(box.open(b, 'ctx').toString()).toBe('refresh-token-123');
  });

  it('takes SECRETS_KEY as base64 from a Secret', () => {
    const key = randomBytes(32);
    const sealed = SealedBox.fromSecret(new Secret(key.toString('base64'))).seal('x', 'c');
    expect(new SealedBox(key).openString(sealed, 'c')).toBe('x');
  });

  it('rotates keys: reads with SECRETS_KEY_PREVIOUS, writes with the new SECRETS_KEY', () => {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const sealedBefore = SealedBox.fromSecret(new Secret(oldKey)).seal('token-a', 'c');
    const rotating = SealedBox.fromSecret(new Secret(newKey), new Secret(oldKey));
    expect(rotating.openString(sealedBefore, 'c')).toBe('token-a');
    const sealedAfter = rotating.seal('token-b', 'c');
    // Written with the new key only: it opens without the old one, and not with the old one alone.
    expect(SealedBox.fromSecret(new Secret(newKey)).openString(sealedAfter, 'c')).toBe('token-b');
    expect(() => SealedBox.fromSecret(new Secret(oldKey)).open(sealedAfter, 'c')).toThrow(SealedBoxError);
    // Without the previous key the old value does not open, and the error says what to set.
    expect(() => SealedBox.fromSecret(new Secret(newKey)).open(sealedBefore, 'c')).toThrow(
      /SECRETS_KEY_PREVIOUS/,
    );
  });

  it('refuses another key, another context, modified bytes and garbage', () => {
    const sealed = box.seal('secret', 'key-a');
    expect(() => new SealedBox(randomBytes(32)).open(sealed, 'key-a')).toThrow(SealedBoxError);
    expect(() => box.open(sealed, 'key-b')).toThrow(/another SECRETS_KEY or for another context/);
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => box.open(`v1.${bytes.toString('base64url')}`, 'key-a')).toThrow(SealedBoxError);
    expect(() => box.open('plain text', 'key-a')).toThrow(/not a sealed value/);
    expect(() => box.open('v1.abc', 'key-a')).toThrow(/truncated/);
  });

  it('insists on a 32-byte key', () => {
    expect(() => new SealedBox(randomBytes(16))).toThrow(/32 bytes, got 16/);
  });
});
