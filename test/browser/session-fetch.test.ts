import { BRIGHTSPACE_WEB_PROFILE } from '../../src/lms/brightspace/web-profile.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryPdfSink } from '../../src/pdf/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAnswer } from '../../src/http/classify-answer.ts';
import { fetchWithSession, OffHostRedirectError, PdfTooLargeError } from '../../src/browser/session-fetch.ts';

const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
const LOGIN = '<!DOCTYPE html><html><body><form action="/d2l/lp/auth/login/login.d2l"></form></body></html>';

/** A tiny server; `seen` records each request's path and whether it carried a cookie. */
function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: { path: string; cookie: boolean }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', cookie: req.headers.cookie !== undefined });
    handler(req, res);
  });
  return { server, seen };
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const lms = serve((req, res) => {
  const path = req.url ?? '';
  if (path === '/octet') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(PDF);
  else if (path === '/untyped') {
    res.removeHeader('content-type');
    res.writeHead(200).end(PDF);
  } else if (path === '/moved') res.writeHead(302, { location: '/octet' }).end();
  else if (path === '/expired-redirect')
    res.writeHead(302, { location: '/d2l/login?sessionExpired=1&target=%2Fx' }).end();
  else if (path === '/login-page') res.writeHead(200, { 'content-type': 'text/html' }).end(LOGIN);
  else if (path === '/forbidden') res.writeHead(403, { 'content-type': 'text/html' }).end('<html>no</html>');
  else if (path === '/throttled') res.writeHead(429, { 'retry-after': '7' }).end();
  else if (path === '/elsewhere') res.writeHead(302, { location: `${urlOf(other.server)}/steal` }).end();
  else if (path === '/endless') {
    res.writeHead(200, { 'content-type': 'application/pdf' });
    res.write('%PDF-1.7\n');
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  } else res.writeHead(404).end();
});
const other = serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'));

beforeAll(async () => {
  for (const s of [lms.server, other.server]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  for (const s of [lms.server, other.server]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const session = { cookieHeader: 'd2lSessionVal=abc; d2lSecureSessionVal=def', userAgent: 'test' };
let sink = new MemoryPdfSink();
const get = (path: string, maxBytes = 1_000_000) => {
  sink = new MemoryPdfSink();
  return fetchWithSession(`${urlOf(lms.server)}${path}`, session, {
    sink,
    maxBytes,
    loggedOutPaths: BRIGHTSPACE_WEB_PROFILE.loggedOutPaths,
  });
};

describe('fetchWithSession', () => {
  it('takes a whole PDF whatever its Content-Type says, following redirects on the LMS host', async () => {
    for (const path of ['/octet', '/untyped', '/moved']) {
      const answer = await get(path);
      expect(answer.kind, path).toBe('pdf');
      expect(sink.bytes().equals(PDF), path).toBe(true);
    }
  });

  it('tells an expired session (login page, redirect to login) from a page to probe (403)', async () => {
    expect((await get('/login-page')).kind).toBe('expired');
    expect((await get('/expired-redirect')).kind).toBe('expired');
    expect((await get('/forbidden')).kind).toBe('ambiguous');
    expect(await get('/throttled')).toMatchObject({ kind: 'throttled', status: 429, retryAfterSeconds: 7 });
  });

  it('never follows a redirect to another host, so no cookie leaves the LMS', async () => {
    await expect(get('/elsewhere')).rejects.toBeInstanceOf(OffHostRedirectError);
    expect(other.seen).toEqual([]);
    expect(lms.seen.filter((r) => r.path === '/elsewhere').every((r) => r.cookie)).toBe(true);
  });

  it('cuts an endless body at the byte limit without holding it all', async () => {
    const before = process.memoryUsage().rss;
    await expect(get('/endless', 8 * 1024 * 1024)).rejects.toBeInstanceOf(PdfTooLargeError);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });
});

describe('classifyAnswer', () => {
  const h = (headers: Record<string, string> = {}) => new Headers(headers);
  const pdf = new Uint8Array(PDF);
  const html = new Uint8Array(Buffer.from(LOGIN));
  const base = 'https://lms.example/d2l/awards/v1/1/certificate/render/2';
  it.each([
    [200, base, {}, pdf, 'pdf'],
    [200, base, { 'content-type': 'text/html' }, html, 'expired'],
    [200, 'https://lms.example/d2l/login?target=x', {}, html, 'expired'],
    [302, base, { location: '/d2l/login?sessionExpired=1' }, new Uint8Array(), 'expired'],
    [303, base, { location: 'https://lms.example/d2l/lp/auth/login/login.d2l' }, new Uint8Array(), 'expired'],
    [302, base, { location: '/d2l/awards/v1/1/certificate/render/2?x=1' }, new Uint8Array(), 'redirect'],
    [401, base, {}, html, 'ambiguous'],
    [403, base, { 'content-type': 'text/html' }, html, 'ambiguous'],
    [429, base, { 'retry-after': '3' }, new Uint8Array(), 'throttled'],
    [503, base, {}, new Uint8Array(), 'throttled'],
    [404, base, {}, html, 'error'],
    [500, base, {}, html, 'error'],
  ] as const)('%i at %s → %s', (status, url, headers, firstBytes, expected) => {
    expect(
      classifyAnswer(
        { status, url, headers: h(headers), firstBytes },
        BRIGHTSPACE_WEB_PROFILE.loggedOutPaths,
      ),
    ).toBe(expected);
  });
});
