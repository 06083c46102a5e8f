import { elsewherePage } from './html.ts';
import { type HttpServer, startHttpServer } from './server.ts';
import type { SandboxStats } from './stats.ts';

/**
 * "Elsewhere": a second tiny server on loopback, another origin (another port), where the
 * `offHostRedirectIssuedIds` redirect points — as a tenant's CDN or file store would. It answers
 * every request 200 with a small page and counts whether the client brought any cookie along.
 *
 * Cookies ignore ports (RFC 6265 §8.5): a browser would send the LMS's cookies for 127.0.0.1 here
 * too. The counters catch clients that copy a `Cookie` header onto a redirect to another origin.
 */
export async function startElsewhere(stats: SandboxStats): Promise<HttpServer> {
  const http = await startHttpServer('127.0.0.1', 0);
  const page = Buffer.from(elsewherePage());
  http.setHandler((req, res) => {
    stats.offHostRequests++;
    if (req.headers.cookie !== undefined) stats.offHostCookies++;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Length', page.length);
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : page);
  });
  return http;
}
