/**
 * A tiny LMS for the seam test: an OAuth2 token endpoint (client credentials, Basic), a people
 * listing, each person's awards, and each award's PDF behind the bearer token. Nothing of
 * Brightspace or Learn: a third LMS that shares only HTTP and OAuth2 with them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PDFDocument } from 'pdf-lib';

export interface FakeAward {
  id: string;
  course: string;
  name: string;
  date: string;
}

export interface FakeLms {
  url: string;
  clientId: string;
  clientSecret: string;
  people: Map<string, FakeAward[]>;
  pdfOf(awardId: string): Uint8Array;
  /** Requests per route (method and path without ids). */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeLms(): Promise<FakeLms> {
  const clientId = 'third-app';
  const clientSecret = 'third-secret-value';
  const people = new Map<string, FakeAward[]>([
    ['p-ada', [{ id: 'aw-1', course: 'chem-101', name: 'Lab Safety', date: '2026-03-01T10:00:00Z' }]],
    [
      'p-bob',
      [
        { id: 'aw-2', course: 'chem-101', name: 'Lab Safety', date: '2026-03-02T10:00:00Z' },
        { id: 'aw-3', course: 'bio-200', name: 'Field Work', date: '2026-04-02T10:00:00Z' },
      ],
    ],
    ['p-cy', []],
  ]);
  const pdfs = new Map<string, Uint8Array>();
  for (const awards of people.values()) {
    for (const award of awards) {
      const doc = await PDFDocument.create();
      doc.addPage().drawText(`${award.name} (${award.id})`);
      pdfs.set(award.id, await doc.save());
    }
  }
  const token = `tok-${Math.random().toString(36).slice(2)}`;
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    hits.set(
      `${req.method} ${url.pathname.replace(/\/(p|aw)-[^/]+/g, '/:id')}`,
      1 + (hits.get(req.method ?? '') ?? 0),
    );
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
      if (req.headers.authorization !== basic) return json(401, { error: 'invalid_client' });
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, { error: 'invalid_token' });
    if (req.method === 'GET' && url.pathname === '/api/people') {
      return json(
        200,
        [...people.keys()].map((id) => ({ id })),
      );
    }
    const awards = /^\/api\/people\/([^/]+)\/awards$/.exec(url.pathname);
    if (req.method === 'GET' && awards) {
      const list = people.get(decodeURIComponent(awards[1]!));
      return list ? json(200, list) : json(404, { error: 'no such person' });
    }
    const pdf = /^\/api\/awards\/([^/]+)\.pdf$/.exec(url.pathname);
    if (req.method === 'GET' && pdf) {
      const bytes = pdfs.get(decodeURIComponent(pdf[1]!));
      if (!bytes) return json(404, { error: 'no such award' });
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': bytes.byteLength });
      return res.end(bytes);
    }
    json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    people,
    pdfOf: (id) => pdfs.get(id)!,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
