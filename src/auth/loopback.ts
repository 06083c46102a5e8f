import { ConfigError } from '../errors/index.ts';

/** Whether `url` points at this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string | URL): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * `https:` anywhere, `http:` only on loopback (the sandbox): tokens and client secrets must never
 * cross a network in the clear.
 * @throws ConfigError naming `variable`
 */
export function assertSecureUrl(url: string, variable: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([`${variable}: expected an https:// URL (got "${url}")`]);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && isLoopbackUrl(parsed)) return parsed;
  throw new ConfigError([
    `${variable}: expected an https:// URL; http:// is allowed only for 127.0.0.1, ::1 or localhost (got "${url}")`,
  ]);
}
