import { MemoryPdfSink } from '../../src/pdf/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmbiguousUserError,
  InvalidReferenceError,
  LmsDataError,
  LmsVersionUnsupportedError,
  UserNotFoundError,
} from '../../src/lms/index.ts';
import {
  certificatesOnly,
  compareVersions,
  createBrightspaceAdapter,
  pickVersions,
  type IssuedAward,
  type ItemResult,
} from '../../src/lms/brightspace/index.ts';
import { sendJson, type StubServer } from './stub-http.ts';
import {
  client,
  FakeTokens,
  issued,
  silentLogger,
  startValence,
  userData,
  VERSIONS,
  type Route,
} from './valence-stub.ts';

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('BrightspaceClient', () => {
  let server: StubServer | undefined;
  let other: StubServer | undefined;
  afterEach(async () => {
    await server?.close();
    await other?.close();
    server = other = undefined;
  });

  describe('versions', () => {
    it('picks the newest lp and bas versions both sides know, once', async () => {
      server = await startValence({});
      const { client: c } = client(server);
      const [a, b] = await Promise.all([c.negotiateVersions(), c.negotiateVersions()]);
      expect(a).toEqual({ lp: '1.53', bas: '1.4' });
      expect(b).toBe(a);
      await c.whoami().catch(() => undefined);
      expect(server.seen.filter((r) => r.url === '/d2l/api/versions/')).toHaveLength(1);
      expect(compareVersions('1.10', '1.9')).toBeGreaterThan(0);
    });

    it('says which product has no common version, and asks again after a failure', async () => {
      let answer: unknown = [
        { ProductCode: 'lp', LatestVersion: '1.53' },
        { ProductCode: 'bas', LatestVersion: '0.9' },
      ];
      server = await startValence({ 'GET /d2l/api/versions/': (_q, res) => sendJson(res, 200, answer) });
      const { client: c } = client(server);
      const error = await c.negotiateVersions().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LmsVersionUnsupportedError);
      expect((error as Error).message).toMatch(
        /bas API versions 0\.9; this client supports 1\.0–1\.4 \(set BAS_VERSION to force one\)/,
      );
      answer = VERSIONS;
      await expect(c.negotiateVersions()).resolves.toEqual({ lp: '1.53', bas: '1.4' });
    });
  });

  describe('pickVersions', () => {
    const tenant = (lp: string[], bas: string[]) => [
      { ProductCode: 'lp', LatestVersion: lp.at(-1)!, SupportedVersions: lp },
      { ProductCode: 'bas', LatestVersion: bas.at(-1)!, SupportedVersions: bas },
    ];
    it.each([
      [
        'the newest both know',
        tenant(['1.40', '1.53', '1.60'], ['1.2', '1.4']),
        {},
        { lp: '1.53', bas: '1.4' },
        0,
      ],
      [
        'only newer: the oldest above ours, with a warning',
        tenant(['1.56', '1.54', '1.55'], ['1.6', '1.5']),
        {},
        { lp: '1.54', bas: '1.5' },
        2,
      ],
      [
        'an override the tenant lists',
        tenant(['1.50', '1.53'], ['1.4']),
        { lp: '1.50' },
        { lp: '1.50', bas: '1.4' },
        0,
      ],
      [
        'an override the tenant does not list: used, with a warning',
        tenant(['1.53'], ['1.4']),
        { bas: '1.9' },
        { lp: '1.53', bas: '1.9' },
        1,
      ],
    ] as const)('%s', (_name, server, overrides, versions, warnings) => {
      const picked = pickVersions(server, overrides);
      expect(picked.versions).toEqual(versions);
      expect(picked.warnings).toHaveLength(warnings);
    });

    it('names the versions and the variable in its warning', () => {
      const { warnings } = pickVersions(tenant(['1.54'], ['1.4']));
      expect(warnings[0]).toMatch(
        /only lp API versions newer than this client knows \(1\.54; known up to 1\.53\): using 1\.54.*LP_VERSION/,
      );
    });
  });

  describe('users', () => {
    it('whoami() reads the string Identifier as an integer; a bad shape names route and field', async () => {
      let body: unknown = {
        Identifier: '169',
        FirstName: 'Service',
        LastName: 'User',
        UniqueName: 'svc',
        ProfileIdentifier: 'x',
      };
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/whoami': (_q, res) => sendJson(res, 200, body),
      });
      const { client: c } = client(server);
      expect(await c.whoami()).toEqual({
        userId: 169,
        firstName: 'Service',
        lastName: 'User',
        uniqueName: 'svc',
      });

      body = { FirstName: 'no id' };
      const error = await c.whoami().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LmsDataError);
      expect(error).toMatchObject({ code: 'LMS_DATA_INVALID', retryable: false, path: 'Identifier' });
      expect((error as Error).message).toBe(
        'GET /d2l/api/lp/1.53/users/whoami: unexpected data at Identifier: expected a positive integer id, but the field is missing',
      );
    });

    it('a body that is not JSON is a data error too', async () => {
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/whoami': (_q, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>login</html>');
        },
      });
      await expect(client(server).client.whoami()).rejects.toThrow(
        /unexpected data at \(body\): the body is not JSON/,
      );
    });

    it('getUser(): found, not found (naming the reference), and hostile ids never sent', async () => {
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/5': (_q, res) => sendJson(res, 200, userData('5')),
      });
      const { client: c } = client(server);
      expect(await c.getUser(5)).toEqual({
        userId: 5,
        userName: 'ada5',
        orgDefinedId: 'S5',
        firstName: 'Ada',
        lastName: 'Lovelace5',
        displayName: null,
        email: null,
        isActive: true,
      });
      const missing = await c.getUser('6').catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(UserNotFoundError);
      expect(missing).toMatchObject({ code: 'LMS_USER_NOT_FOUND', retryable: false });
      expect((missing as Error).message).toBe('no LMS user with userId "6"');

      const before = server.seen.length;
      for (const bad of ['../5', '5/../../x', '1.5', '-1', '', ' 5', '0', '007', 0]) {
        await expect(c.getUser(bad)).rejects.toBeInstanceOf(InvalidReferenceError);
      }
      await expect(c.getUser(Number.NaN)).rejects.toMatchObject({ code: 'LMS_REFERENCE_INVALID' });
      expect(server.seen.length).toBe(before);
    });

    it('findUserByUserName() sends the name as a query and expects one object', async () => {
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/': (_q, res, url) =>
          url.searchParams.get('userName') === 'jane doe&x=1'
            ? sendJson(res, 200, userData(9, { UserName: 'jane doe&x=1' }))
            : sendJson(res, 404, { Errors: [{ Message: 'Resource Not Found' }] }),
      });
      const { client: c } = client(server);
      expect((await c.findUserByUserName('jane doe&x=1')).userId).toBe(9);
      await expect(c.findUserByUserName('nobody')).rejects.toThrow('no LMS user with userName "nobody"');
      await expect(c.resolveUser({ by: 'userName', value: 'nobody' })).rejects.toBeInstanceOf(
        UserNotFoundError,
      );
      await expect(c.findUserByUserName('bad\nname')).rejects.toBeInstanceOf(InvalidReferenceError);
    });

    it('findUserByOrgDefinedId() takes the only match, refuses none and several', async () => {
      const answers: Record<string, unknown> = {
        S1: [userData(1)],
        S0: [],
        SX: [userData(2), userData(3)],
      };
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/': (_q, res, url) =>
          sendJson(res, 200, answers[url.searchParams.get('orgDefinedId')!]),
      });
      const { client: c } = client(server);
      expect((await c.findUserByOrgDefinedId('S1')).userId).toBe(1);
      expect((await c.resolveUser({ by: 'orgDefinedId', value: 'S1' })).userId).toBe(1);
      await expect(c.findUserByOrgDefinedId('S0')).rejects.toThrow('no LMS user with orgDefinedId "S0"');
      const ambiguous = await c.findUserByOrgDefinedId('SX').catch((e: unknown) => e);
      expect(ambiguous).toBeInstanceOf(AmbiguousUserError);
      expect(ambiguous).toMatchObject({ code: 'LMS_USER_AMBIGUOUS', userIds: [2, 3] });
      expect((ambiguous as Error).message).toMatch(/2 LMS users have orgDefinedId "SX" \(UserIds 2, 3\)/);
    });

    it('listUsers() follows bookmarks; one bad user fails only itself', async () => {
      const pages: Record<string, unknown> = {
        '': {
          PagingInfo: { Bookmark: 'b1', HasMoreItems: true },
          Items: [userData(1), userData('x/../1'), userData(2)],
        },
        b1: { PagingInfo: { Bookmark: 'b2', HasMoreItems: true }, Items: [userData(0), userData(3)] },
        b2: { PagingInfo: { Bookmark: null, HasMoreItems: false }, Items: [userData(4)] },
      };
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/': (_q, res, url) =>
          sendJson(res, 200, pages[url.searchParams.get('bookmark') ?? '']),
      });
      const { client: c, logLines } = client(server);
      const results = await collect(c.listUsers());
      expect(results.filter((r) => r.ok).map((r) => r.ok && r.value.userId)).toEqual([1, 2, 3, 4]);
      const bad = results.flatMap((r) => (r.ok ? [] : [r]));
      expect(bad.map((r) => r.error.message)).toEqual([
        'GET /d2l/api/lp/1.53/users/: unexpected data at Items[1].UserId: expected a positive integer id (1 to 2^53-1), got "x/../1"',
        'GET /d2l/api/lp/1.53/users/: unexpected data at Items[0].UserId: expected a positive integer id (1 to 2^53-1), got 0',
      ]);
      expect((bad[0]?.raw as { UserId: string }).UserId).toBe('x/../1');
      // Each skipped user is logged with its reason (the directory only counts them).
      expect(logLines.filter((l) => l.includes('skipping a user'))).toHaveLength(2);
      expect(logLines.join('\n')).toContain('Items[0].UserId: expected a positive integer id');
    });

    it('listUsers() refuses a bookmark that repeats instead of looping forever', async () => {
      server = await startValence({
        'GET /d2l/api/lp/1.53/users/': (_q, res) =>
          sendJson(res, 200, { PagingInfo: { Bookmark: 'same', HasMoreItems: true }, Items: [] }),
      });
      await expect(collect(client(server).client.listUsers())).rejects.toThrow(
        /PagingInfo\.Bookmark.*repeats/,
      );
    });
  });

  describe('issued awards', () => {
    it('follows absolute and relative Next links, parses U dates and string ids, keeps good items next to bad ones', async () => {
      const base = '/d2l/api/bas/1.4/issued/users/42/';
      server = await startValence({
        [`GET ${base}`]: (_q, res, url) => {
          const page = url.searchParams.get('page');
          if (page === null) {
            return sendJson(res, 200, {
              Next: `${server!.origin}${base}?page=2`,
              Objects: [issued(1001, 2), issued('1002', 1)],
            });
          }
          if (page === '2') {
            return sendJson(res, 200, {
              Next: `${base}?page=3`,
              Objects: [issued('12a', 2), issued(1003, 'Certificate', { OrgUnitId: '6610' })],
            });
          }
          return sendJson(res, 200, { Next: null, Objects: [issued(1004, 'Badge', { IssuedDate: null })] });
        },
      });
      const results: ItemResult<IssuedAward>[] = await collect(client(server).client.listIssuedAwards('42'));
      const good = results.flatMap((r) => (r.ok ? [r.value] : []));
      expect(good.map((a) => [a.issuedId, a.orgUnitId, a.awardType])).toEqual([
        [1001, 6609, 'certificate'],
        [1002, 6609, 'badge'],
        [1003, 6610, 'certificate'],
        [1004, 6609, 'badge'],
      ]);
      expect(good[0]).toEqual({
        userId: 42,
        issuedId: 1001,
        orgUnitId: 6609,
        awardId: 77,
        awardType: 'certificate',
        title: 'Award 1001',
        issuedDate: new Date('2026-05-13T20:01:00.827Z'),
        expiryDate: null,
      });
      expect(good[3]?.issuedDate).toBeNull();
      const bad = results.filter((r) => !r.ok);
      expect(bad).toHaveLength(1);
      expect(bad[0]?.ok === false && bad[0].error.message).toBe(
        `GET ${base}: unexpected data at Objects[0].IssuedId: expected a positive integer id (1 to 2^53-1), got "12a"`,
      );
      expect(certificatesOnly(good).map((a) => a.issuedId)).toEqual([1001, 1003]);
      // includeExpired rides along on every page, Next links included; the first asks for big pages.
      expect(server.seen.map((r) => r.url).filter((u) => u.startsWith(base))).toEqual([
        `${base}?includeExpired=true&limit=200`,
        `${base}?page=2&includeExpired=true`,
        `${base}?page=3&includeExpired=true`,
      ]);
    });

    it('asks for pages of 200; a tenant that refuses the size (400) is asked without it, once warned', async () => {
      const base = '/d2l/api/bas/1.4/issued/users/5/';
      server = await startValence({
        [`GET ${base}`]: (_q, res, url) =>
          url.searchParams.has('limit')
            ? sendJson(res, 400, { Errors: [{ Message: 'limit out of range' }] })
            : sendJson(res, 200, { Next: null, Objects: [issued(1)] }),
      });
      const { client: c, logLines } = client(server);
      expect((await c.getIssuedAwards(5)).awards.map((a) => a.issuedId)).toEqual([1]);
      expect((await c.getIssuedAwards(5)).awards.map((a) => a.issuedId)).toEqual([1]);
      const limits = server.seen
        .filter((r) => r.url.startsWith(base))
        .map((r) => new URL(r.url, 'http://stub').searchParams.get('limit'));
      expect(limits).toEqual(['200', null, null]); // refused once, then never asked again
      expect(logLines.filter((l) => l.includes('refused limit=200'))).toHaveLength(1);
    });

    it('asks for expired awards by default, and not when told to leave them out', async () => {
      const base = '/d2l/api/bas/1.4/issued/users/5/';
      server = await startValence({
        [`GET ${base}`]: (_q, res, url) =>
          sendJson(res, 200, {
            // A Next that drops the query: the client says includeExpired again itself.
            Next: url.searchParams.has('offset') ? null : `${base}?offset=1`,
            Objects: [issued(url.searchParams.has('offset') ? 2 : 1)],
          }),
      });
      const { client: c } = client(server);
      const asked = () =>
        server!.seen.map((r) => new URL(r.url, 'http://stub').searchParams.get('includeExpired'));

      expect((await c.getIssuedAwards(5)).awards.map((a) => a.issuedId)).toEqual([1, 2]);
      expect(asked()).toEqual([null, 'true', 'true']); // the first request is the versions route
      server.seen.length = 0;
      await c.getIssuedAwards(5, { includeExpired: false });
      expect(asked()).toEqual(['false', 'false']);
      server.seen.length = 0;
      await c.getIssuedAwards(5, { includeExpired: true });
      expect(asked()).toEqual(['true', 'true']);
    });

    it('the adapter lists expired awards by default and leaves them out when told, even if the LMS sends them', async () => {
      const base = '/d2l/api/bas/1.4/issued/users/6/';
      server = await startValence({
        // A tenant that ignores includeExpired: it always sends the expired award (3).
        [`GET ${base}`]: (_q, res) =>
          sendJson(res, 200, {
            Next: null,
            Objects: [
              issued(1),
              issued(2, 2, { ExpiryDate: 'U2099-01-01T00:00:00.000' }),
              issued(3, 2, { ExpiryDate: 'U2025-01-01T00:00:00.000' }),
            ],
          }),
      });
      const { directory } = createBrightspaceAdapter({
        lmsUrl: server.origin,
        tokens: new FakeTokens(),
        session: undefined,
        logger: silentLogger(),
      });
      const ids = async (options?: { includeExpired?: boolean }) =>
        (await collect(directory.listAwards(6, options))).flatMap((e) =>
          e.ok ? [e.certificate.issuedId] : [],
        );
      expect(await ids()).toEqual([1, 2, 3]);
      expect(await ids({ includeExpired: true })).toEqual([1, 2, 3]);
      expect(await ids({ includeExpired: false })).toEqual([1, 2]);
    });

    it('an out-of-range id (0, negative, a fraction, beyond 2^53) fails that award alone, with its reason', async () => {
      const base = '/d2l/api/bas/1.4/issued/users/11/';
      const hostile: [string, Record<string, unknown>][] = [
        ['OrgUnitId', { OrgUnitId: 0 }],
        ['OrgUnitId', { OrgUnitId: -6609 }],
        ['OrgUnitId', { OrgUnitId: 6609.5 }],
        ['OrgUnitId', { OrgUnitId: 2 ** 53 }],
        ['OrgUnitId', { OrgUnitId: '0' }],
        ['OrgUnitId', { OrgUnitId: '9007199254740993' }],
        ['IssuedId', { IssuedId: 0 }],
        ['Award.AwardId', { Award: { AwardId: 0, AwardType: 2, Title: 'x' } }],
      ];
      server = await startValence({
        [`GET ${base}`]: (_q, res) =>
          sendJson(res, 200, {
            Next: null,
            Objects: [issued(1), ...hostile.map(([, extra], i) => issued(100 + i, 2, extra)), issued(2)],
          }),
      });
      const { awards, invalid } = await client(server).client.getIssuedAwards(11);
      expect(awards.map((a) => a.issuedId)).toEqual([1, 2]);
      expect(invalid.map((r) => r.error.path)).toEqual(
        hostile.map(([field], i) => `Objects[${i + 1}].${field}`),
      );
      expect(invalid[0]?.error.message).toBe(
        `GET ${base}: unexpected data at Objects[1].OrgUnitId: expected a positive integer id (1 to 2^53-1), got 0`,
      );
    });

    it("the adapter hands an OrgUnitId 0 on as that award's failure; the user's other certificates come through", async () => {
      const base = '/d2l/api/bas/1.4/issued/users/12/';
      server = await startValence({
        [`GET ${base}`]: (_q, res) =>
          sendJson(res, 200, { Next: null, Objects: [issued(1), issued(2, 2, { OrgUnitId: 0 }), issued(3)] }),
      });
      const { directory } = createBrightspaceAdapter({
        lmsUrl: server.origin,
        tokens: new FakeTokens(),
        session: undefined,
        logger: silentLogger(),
      });
      const entries = await collect(directory.listAwards(12));
      expect(entries.flatMap((e) => (e.ok ? [e.certificate.issuedId] : []))).toEqual([1, 3]);
      expect(entries.filter((e) => !e.ok)).toEqual([
        expect.objectContaining({
          ok: false,
          code: 'LMS_DATA_INVALID',
          reason: expect.stringMatching(/OrgUnitId: expected a positive integer id .*got 0$/),
        }),
      ]);
    });

    it('refuses a Next link to another host, and never sends the token there', async () => {
      other = await startValence({});
      server = await startValence({
        'GET /d2l/api/bas/1.4/issued/users/7/': (_q, res) =>
          sendJson(res, 200, {
            Next: `${other!.origin}/d2l/api/bas/1.4/issued/users/7/?p=2`,
            Objects: [issued(1)],
          }),
      });
      const seen: unknown[] = [];
      const error = await (async () => {
        for await (const r of client(server!).client.listIssuedAwards(7)) seen.push(r);
      })().catch((e: unknown) => e);
      expect(seen).toHaveLength(1);
      expect(error).toBeInstanceOf(LmsDataError);
      expect((error as Error).message).toMatch(/at Next: refusing to follow a link to another host/);
      expect(other.seen).toHaveLength(0);
    });

    it('rejects bad dates and a page without Objects', async () => {
      let page: unknown = { Next: null, Objects: [issued(1, 2, { IssuedDate: 'yesterday' })] };
      server = await startValence({
        'GET /d2l/api/bas/1.4/issued/users/8/': (_q, res) => sendJson(res, 200, page),
      });
      const { client: c } = client(server);
      const { awards, invalid } = await c.getIssuedAwards(8);
      expect(awards).toEqual([]);
      expect(invalid[0]?.error.path).toBe('Objects[0].IssuedDate');
      expect(invalid[0]?.error.message).toMatch(/expected a UTC date, got "yesterday"/);
      page = { Next: null, Items: [] };
      await expect(c.getIssuedAwards(8)).rejects.toThrow(/unexpected data at Objects:/);
      await expect(c.getIssuedAwards(9)).rejects.toBeInstanceOf(UserNotFoundError);
    });
  });

  describe('certificate PDF', () => {
    it('returns the bytes, or "unsupported" for 403/404/405/501 and redirects', async () => {
      const pdf = Buffer.from('%PDF-1.7\n...%%EOF\n');
      const statuses: Record<string, number> = { '2': 404, '3': 501, '4': 403, '5': 405, '6': 302 };
      const routes: Record<string, Route> = {
        'GET /d2l/api/bas/1.4/issued/certificates/1/pdf': (_q, res) => {
          res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': String(pdf.length) });
          res.end(pdf);
        },
      };
      for (const [id, status] of Object.entries(statuses)) {
        routes[`GET /d2l/api/bas/1.4/issued/certificates/${id}/pdf`] = (_q, res) => {
          res.writeHead(status, status === 302 ? { location: '/d2l/login' } : {});
          res.end();
        };
      }
      server = await startValence(routes);
      const { client: c } = client(server);
      const sink = new MemoryPdfSink();
      const got = await c.fetchCertificatePdf(1, sink);
      expect(got).toMatchObject({ kind: 'pdf', contentType: 'application/pdf', contentLength: pdf.length });
      expect(sink.bytes().equals(pdf)).toBe(true);
      expect(server.seen.at(-1)?.headers.accept).toBe('application/pdf');
      for (const [id, status] of Object.entries(statuses)) {
        expect(await c.fetchCertificatePdf(id, new MemoryPdfSink())).toEqual({ kind: 'unsupported', status });
      }
      const sent = server.seen.length;
      await expect(c.fetchCertificatePdf('1/../../x', new MemoryPdfSink())).rejects.toBeInstanceOf(
        InvalidReferenceError,
      );
      expect(server.seen.length).toBe(sent);
    });

    it('refuses a PDF over the size limit', async () => {
      server = await startValence({
        'GET /d2l/api/bas/1.4/issued/certificates/1/pdf': (_q, res) => {
          res.writeHead(200, { 'content-type': 'application/pdf' });
          res.end(Buffer.alloc(2048));
        },
      });
      await expect(
        client(server, { maxPdfBytes: 1024 }).client.fetchCertificatePdf(1, new MemoryPdfSink()),
      ).rejects.toThrow(/body of more than 1024 bytes is over the 1024-byte limit/);
    });
  });
});
