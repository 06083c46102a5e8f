import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** HTTP basic auth with a constant-time comparison; answers 401 with a realm otherwise. */
export function basicAuth(user: string, password: string, realm = 'certharvest'): RequestHandler {
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const given = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    if (given && timingSafeEqual(digest(given), expected)) return next();
    res
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .status(401)
      .type('text/plain')
      .send('authentication required\n');
  };
}
