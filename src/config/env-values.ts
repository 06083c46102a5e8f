/**
 * The parsers of single variables' values (a URL, a port, a duration, a mode, a key…), each with
 * the words used when the value is wrong: the pieces `schema.ts` builds the environment from.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';

/** A URL whose scheme is one of `protocols` (`http:`…); `message` says what was expected. */
const urlWith = (protocols: readonly string[], message: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, message);

export const httpUrl = (example: string) =>
  urlWith(['http:', 'https:'], `expected an http(s) URL such as ${example}`);

export const redisUrl = urlWith(
  ['redis:', 'rediss:'],
  'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379',
);

/**
 * LMS_URL is the site's address alone: its host is every certificate's identity and the base of
 * every route, so a copied page address (`/d2l/home`, `?ou=…`, `#…`) is refused, naming the fix.
 * A trailing "/" is fine. Other URLs (a webhook's) keep their paths.
 */
export const siteAddressOnly = (v: string, ctx: z.core.$RefinementCtx<string>): void => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return; // httpUrl reports it
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
  const beforeFragment = v.split('#')[0]!;
  const extras = [
    ...(/^\/*$/.test(u.pathname) ? [] : [`a path (${u.pathname})`]),
    ...(u.search !== '' || beforeFragment.includes('?') ? [`a query (${u.search || '?'})`] : []),
    ...(u.hash !== '' || v.includes('#') ? [`a fragment (${u.hash || '#'})`] : []),
  ];
  if (extras.length === 0) return;
  // A URL with user:password@ is a secret: never echoed (the suggested value drops it).
  const shown = u.username || u.password ? 'the URL' : `"${v}"`;
  ctx.addIssue({
    code: 'custom',
    message: `${shown} has ${extras.join(' and ')}; use the site's address alone: LMS_URL=${u.origin}`,
  });
};

export const positiveInt = (what: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number (${what})`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `expected a whole number from 1 to ${max} (${what})`);

export const port = z
  .string()
  .trim()
  .regex(/^\d+$/, 'expected a TCP port number from 1 to 65535')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, 'expected a TCP port number from 1 to 65535');

export const nonEmpty = z.string().min(1, 'must not be empty');

/**
 * A value made of a pattern repeated at least twice (`aaaa…`, `abab…`, 32 zero bytes, a 16-byte
 * string written twice), or of fewer than `minDistinct` different symbols: typed by hand, not
 * drawn at random.
 */
export function lowEntropy(symbols: ArrayLike<number | string>, minDistinct: number): boolean {
  const n = symbols.length;
  for (let period = 1; period <= n / 2; period++) {
    let repeats = true;
    for (let i = period; i < n && repeats; i++) repeats = symbols[i] === symbols[i - period];
    if (repeats) return true;
  }
  return new Set(Array.from(symbols)).size < minDistinct;
}

/** 32 random bytes, base64, as printed by `openssl rand -base64 32`. */
export const secretsKey = z
  .string()
  .trim()
  .refine(
    (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32,
    'expected 32 random bytes in base64 (generate one with: openssl rand -base64 32)',
  )
  // 32 random bytes hold about 30 different values; fewer than 16 is a made-up key.
  .refine(
    (v) => !lowEntropy(Buffer.from(v, 'base64'), 16),
    'expected 32 random bytes in base64, but this key is a repeated pattern or has too few different bytes (generate one with: openssl rand -base64 32)',
  );

/**
 * The webhook's key: `whsec_` and 24 to 64 random bytes in base64, as the Standard Webhooks spec
 * has it; a plain key of 16+ characters (the format before it) is still taken as its bytes.
 */
export const webhookSecret = z
  .string()
  .trim()
  .refine((v) => {
    if (!v.startsWith('whsec_')) return v.length >= 16;
    const b64 = v.slice('whsec_'.length);
    const bytes = Buffer.from(b64, 'base64').length;
    return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && bytes >= 24 && bytes <= 64;
  }, 'expected whsec_ and 24 to 64 random bytes in base64 (generate one with: echo "whsec_$(openssl rand -base64 32)")');

export const existingFile = (what: string) =>
  z
    .string()
    .trim()
    .refine((p) => existsSync(p), `expected the path of an existing file (${what})`);

/**
 * A permission mode in octal (`0640`, `640`, `0o640`) → a number. The owner keeps `owner` (a file
 * the store cannot read back, or a folder it cannot enter, would stop every write).
 */
export const octalMode = (what: string, example: string, owner: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const m = /^(?:0o?)?([0-7]{3})$/i.exec(v);
      const mode = m ? parseInt(m[1]!, 8) : NaN;
      if (Number.isNaN(mode) || (mode & owner) !== owner) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an octal mode such as ${example}, 3 digits (0-7) after an optional 0 or 0o, the owner's ${owner === 0o700 ? 'rwx (7)' : 'rw (6 or 7)'} kept (${what})`,
        });
        return z.NEVER;
      }
      return mode;
    });

/** `30s`, `15m`, `4h`, `1d` → milliseconds; `off` (or `0`) → 0. */
export const duration = (what: string, minMs: number) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .transform((v, ctx) => {
      if (v === 'off' || v === '0') return 0;
      const m = /^(\d+)\s*(s|m|h|d)$/.exec(v);
      const ms = m ? Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's'] : NaN;
      if (!Number.isSafeInteger(ms) || ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration such as 30s, 15m, 4h or 1d, at least ${minMs / 1000}s, or "off" (${what})`,
        });
        return z.NEVER;
      }
      return ms;
    });

/** A yes/no variable: true, false, 1, 0, yes or no (any case). */
export const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'expected true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
