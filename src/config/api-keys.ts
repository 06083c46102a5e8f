/** `API_KEYS`: the HTTP API's clients and their keys, parsed and checked once. */
import { z } from 'zod';
import { lowEntropy } from './env-values.ts';
import { API_SCOPES, DEFAULT_API_SCOPES, type ApiScope } from './shape.ts';

/** The shortest API key accepted (`openssl rand -hex 32` makes 64 characters). */
export const API_KEY_MIN_LENGTH = 24;
/** Fewer different characters than this is a made-up key (24 random hex digits hold about 13). */
export const API_KEY_MIN_DISTINCT = 8;
const API_KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII but for "," and ":" (the separators): a key travels in an HTTP header. */
const API_KEY_CHARS = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]+$/;

/**
 * `API_KEYS`: the HTTP API's clients, comma-separated, each `name:key`, `name:key:scope+scope`
 * (scopes: `submit`, `read:own`, `read:all`; default `submit+read:own`) or a bare key (named
 * `key-<position>`, default scopes). A name is what the logs show; the key never is. Problems name
 * the entry by its position only: a value that is not what it looks like could be part of a key.
 */
export const apiKeys = z.string().transform((v, ctx) => {
  const keys: { name: string; key: string; scopes: ApiScope[] }[] = [];
  let problems = 0;
  const problem = (message: string) => {
    problems++;
    ctx.addIssue({ code: 'custom', message });
  };
  v.split(',')
    .map((e) => e.trim())
    .forEach((entry, i) => {
      const at = `entry ${i + 1}`;
      if (entry === '') return;
      const colon = entry.indexOf(':');
      const name = colon >= 0 ? entry.slice(0, colon).trim() : `key-${i + 1}`;
      const rest = colon >= 0 ? entry.slice(colon + 1) : entry;
      const scopeAt = rest.indexOf(':');
      const key = (scopeAt >= 0 ? rest.slice(0, scopeAt) : rest).trim();
      const scopeText = scopeAt >= 0 ? rest.slice(scopeAt + 1).trim() : undefined;
      const scopes =
        scopeText === undefined ? [...DEFAULT_API_SCOPES] : scopeText.split('+').map((s) => s.trim());
      if (!API_KEY_NAME.test(name)) {
        problem(`${at}: expected name:key with a name of 1-64 letters, digits, ".", "_" or "-"`);
      } else if (!API_KEY_CHARS.test(key)) {
        problem(`${at}: the key must be printable ASCII without spaces, commas or colons`);
      } else if (key.length < API_KEY_MIN_LENGTH) {
        problem(
          `${at}: the key is too short, expected at least ${API_KEY_MIN_LENGTH} characters (generate one with: openssl rand -hex 32)`,
        );
      } else if (lowEntropy(key, API_KEY_MIN_DISTINCT)) {
        problem(
          `${at}: the key is a repeated pattern or has fewer than ${API_KEY_MIN_DISTINCT} different characters; expected a random one (generate one with: openssl rand -hex 32)`,
        );
      } else if (scopes.some((s) => !(API_SCOPES as readonly string[]).includes(s))) {
        problem(`${at} (${name}): expected scopes among ${API_SCOPES.join(', ')}, joined by "+"`);
      } else {
        const sameName = keys.findIndex((k) => k.name === name);
        const sameKey = keys.findIndex((k) => k.key === key);
        if (sameName >= 0) problem(`${at}: the same name as an earlier entry; names must be unique`);
        else if (sameKey >= 0) problem(`${at}: the same key as an earlier entry; give each client its own`);
        else keys.push({ name, key, scopes: [...new Set(scopes as ApiScope[])] });
      }
    });
  if (keys.length === 0 && problems === 0) problem('expected at least one name:key entry');
  return problems > 0 ? z.NEVER : keys;
});
