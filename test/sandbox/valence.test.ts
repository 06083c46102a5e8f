import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwardType, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { accessToken, api, json } from './helpers.ts';

interface UserData {
  UserId: number;
  UserName: string;
  OrgDefinedId: string;
  FirstName: string;
  LastName: string;
}
interface IssuedAwardJson {
  IssuedId: number;
  OrgUnitId: number;
  IssuedDate: string;
  ExpiryDate: string | null;
  Award: { AwardId: number; AwardType: number; Title: string };
}
interface AwardsPage {
  Next: string | null;
  Objects: IssuedAwardJson[];
}

describe('sandbox Valence API', () => {
  let sb: Sandbox;
  let token: string;
  beforeAll(async () => {
    sb = await startSandbox({ seed: 11, userCount: 25 });
    token = await accessToken(sb);
  });
  afterAll(async () => {
    await sb.close();
  });

  const get = (path: string) => api(sb, path, token);

  it('lists product versions, all at once and per product', async () => {
    const all = await json<{ ProductCode: string; LatestVersion: string; SupportedVersions: string[] }[]>(
      await api(sb, '/d2l/api/versions/'),
    );
    const lp = all.find((p) => p.ProductCode === 'lp')!;
    const bas = all.find((p) => p.ProductCode === 'bas')!;
    expect(lp.SupportedVersions).toContain('1.46');
    expect(lp.LatestVersion).toBe('1.53');
    expect(bas.SupportedVersions).toEqual(['1.0', '1.1', '1.2', '1.3', '1.4']);
    expect(await json(await get('/d2l/api/bas/versions/'))).toEqual(bas);
    expect((await get('/d2l/api/nope/versions/')).status).toBe(404);
  });

  it('answers whoami for the service user', async () => {
    const me = await json(await get('/d2l/api/lp/1.50/users/whoami'));
    const svc = sb.institution.serviceUser;
    expect(me).toEqual({
      Identifier: String(svc.UserId),
      FirstName: svc.FirstName,
      LastName: svc.LastName,
      UniqueName: svc.UserName,
      ProfileIdentifier: expect.any(String),
    });
  });

  it('looks users up: by userName one object, by orgDefinedId an array, by id one object', async () => {
    const student = sb.institution.students[3]!;
    const byName = await json<UserData>(await get(`/d2l/api/lp/1.53/users/?userName=${student.UserName}`));
    expect(Array.isArray(byName)).toBe(false);
    expect(byName).toMatchObject({ UserId: student.UserId, UserName: student.UserName });
    const byOrgId = await json<UserData[]>(
      await get(`/d2l/api/lp/1.53/users/?orgDefinedId=${student.OrgDefinedId}`),
    );
    expect(byOrgId).toHaveLength(1);
    expect(byOrgId[0]).toMatchObject({ UserId: student.UserId, OrgDefinedId: student.OrgDefinedId });
    expect(await json(await get(`/d2l/api/lp/1.53/users/${student.UserId}`))).toMatchObject({
      UserId: student.UserId,
      FirstName: student.FirstName,
      LastName: student.LastName,
    });
  });

  it('answers 404 {"Errors":[{"Message":"Resource Not Found"}]} for unknown users and versions', async () => {
    const notFound = { Errors: [{ Message: 'Resource Not Found' }] };
    for (const path of [
      '/d2l/api/lp/1.53/users/?userName=nobody.here',
      '/d2l/api/lp/1.53/users/?orgDefinedId=S0000000',
      '/d2l/api/lp/1.53/users/1',
      '/d2l/api/lp/1.53/users/..%2F..%2Fetc',
      '/d2l/api/bas/1.4/issued/users/1/',
      '/d2l/api/lp/1.99/users/whoami',
      '/d2l/api/bas/9.0/issued/users/169/',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await json(res), path).toEqual(notFound);
    }
  });

  it('pages through every user exactly once with the bookmark', async () => {
    const seen: number[] = [];
    let bookmark: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await json<{ PagingInfo: { Bookmark: string; HasMoreItems: boolean }; Items: UserData[] }>(
        await get(`/d2l/api/lp/1.53/users/${bookmark ? `?bookmark=${bookmark}` : ''}`),
      );
      pages++;
      seen.push(...page.Items.map((u) => u.UserId));
      if (!page.PagingInfo.HasMoreItems) break;
      bookmark = page.PagingInfo.Bookmark;
    }
    expect(pages).toBe(Math.ceil(sb.institution.users.length / 10));
    expect(seen).toEqual(sb.institution.users.map((u) => u.UserId));
  });

  it('pages issued awards with Next (absolute and relative URLs) until null, covering each once', async () => {
    const kinds = new Set<string>();
    for (const student of sb.institution.students) {
      const got: IssuedAwardJson[] = [];
      let next: string | null =
        `${sb.url}/d2l/api/bas/1.4/issued/users/${student.UserId}/?includeExpired=true`;
      while (next) {
        kinds.add(next.startsWith('http') ? 'absolute' : 'relative');
        const res = await get(next.startsWith('http') ? next : `${sb.url}${next}`);
        expect(res.status).toBe(200);
        const page: AwardsPage = await json<AwardsPage>(res);
        expect(page.Objects.length).toBeLessThanOrEqual(5);
        got.push(...page.Objects);
        next = page.Next;
      }
      expect(got.map((a) => a.IssuedId)).toEqual(
        sb.institution.awardsOf(student.UserId).map((a) => a.IssuedId),
      );
      for (const a of got) expect(a.IssuedDate).toMatch(/^U\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    }
    expect(kinds).toEqual(new Set(['absolute', 'relative']));
    const types = new Set(sb.institution.issued.map((a) => a.Award.AwardType));
    expect(types).toEqual(new Set([AwardType.Badge, AwardType.Certificate]));
  });

  it('filters issued awards by awardType and honours limit/offset', async () => {
    const many = sb.institution.students.find((s) => sb.institution.profileOf(s.UserId) === 'many')!;
    const certs = sb.institution.certificatesOf(many.UserId).map((a) => a.IssuedId);
    const first = await json<AwardsPage>(
      await get(`/d2l/api/bas/1.4/issued/users/${many.UserId}/?awardType=Certificate&limit=2`),
    );
    expect(first.Objects.map((a) => a.IssuedId)).toEqual(certs.slice(0, 2));
    expect(first.Objects.every((a) => a.Award.AwardType === 2)).toBe(true);
    const next = new URL(first.Next!);
    expect(next.searchParams.get('awardType')).toBe('Certificate');
    expect(next.searchParams.get('offset')).toBe('2');
    expect((await get(`/d2l/api/bas/1.4/issued/users/${many.UserId}/?limit=0`)).status).toBe(400);
    const none = sb.institution.students.find((s) => sb.institution.profileOf(s.UserId) === 'none')!;
    expect(await json(await get(`/d2l/api/bas/1.4/issued/users/${none.UserId}/`))).toEqual({
      Next: null,
      Objects: [],
    });
  });

  it('lists expired awards only with includeExpired=true, on every page', async () => {
    const { institution } = sb;
    const expired = institution.issued.filter((a) => institution.isExpired(a));
    const lasting = institution.issued.filter((a) => a.ExpiryDate !== null && !institution.isExpired(a));
    expect(expired.length).toBeGreaterThan(0);
    expect(lasting.length).toBeGreaterThan(0);
    const listed = async (userId: number, query: string) => {
      const got: IssuedAwardJson[] = [];
      let next: string | null = `/d2l/api/bas/1.4/issued/users/${userId}/?limit=1${query}`;
      while (next) {
        const page: AwardsPage = await json<AwardsPage>(await get(next));
        got.push(...page.Objects);
        next = page.Next;
      }
      return got;
    };
    for (const userId of new Set(expired.map((a) => a.UserId))) {
      const all = institution.awardsOf(userId);
      const current = all.filter((a) => !institution.isExpired(a)).map((a) => a.IssuedId);
      expect((await listed(userId, '')).map((a) => a.IssuedId)).toEqual(current);
      expect((await listed(userId, '&includeExpired=false')).map((a) => a.IssuedId)).toEqual(current);
      const everything = await listed(userId, '&includeExpired=true');
      expect(everything.map((a) => a.IssuedId)).toEqual(all.map((a) => a.IssuedId));
      for (const a of everything) {
        expect(a.ExpiryDate).toBe(institution.issuedAward(a.IssuedId)!.ExpiryDate);
      }
    }
    // An award that expires later (ExpiryDate set, still valid) is listed without asking.
    const later = lasting[0]!;
    expect((await listed(later.UserId, '')).map((a) => a.IssuedId)).toContain(later.IssuedId);
    const bad = await get(`/d2l/api/bas/1.4/issued/users/${later.UserId}/?includeExpired=yes`);
    expect(bad.status).toBe(400);
  });

  it('serves the certificate PDF over the API only when the pdfApi knob is on', async () => {
    const cert = sb.institution.certificates()[0]!;
    const badge = sb.institution.issued.find((a) => a.Award.AwardType === AwardType.Badge)!;
    const path = (id: number) => `/d2l/api/bas/1.4/issued/certificates/${id}/pdf`;
    expect((await get(path(cert.IssuedId))).status).toBe(404);
    sb.setKnobs({ pdfApi: true });
    try {
      const res = await get(path(cert.IssuedId));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await res.arrayBuffer()).equals(Buffer.from(await sb.certificatePdf(cert.IssuedId))),
      ).toBe(true);
      expect((await get(path(badge.IssuedId))).status).toBe(404);
      expect((await api(sb, path(cert.IssuedId))).status).toBe(401);
    } finally {
      sb.setKnobs({ pdfApi: false });
    }
  });
});

describe('sandbox rate limiting and fault knobs', () => {
  let sb: Sandbox;
  let token: string;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 3 });
    token = await accessToken(sb);
  });
  afterAll(async () => {
    await sb.close();
  });
  const whoami = () => api(sb, '/d2l/api/lp/1.53/users/whoami', token);

  it('sends X-Rate-Limit-Remaining, X-Rate-Limit-Reset and X-Request-Cost on every call', async () => {
    sb.setKnobs({ rateLimitCredits: 50_000, requestCost: 10 });
    const a = await whoami();
    const b = await api(sb, '/d2l/api/lp/1.53/users/0', token); // a 404 costs the same
    expect(a.headers.get('x-request-cost')).toBe('10');
    expect(Number(a.headers.get('x-rate-limit-remaining'))).toBe(49_990);
    expect(Number(b.headers.get('x-rate-limit-remaining'))).toBe(49_980);
    const reset = Number(a.headers.get('x-rate-limit-reset'));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
  });

  it('answers 429 with Retry-After and without X-Rate-Limit headers once the budget is spent', async () => {
    sb.setKnobs({ rateLimitCredits: 30, requestCost: 10 });
    try {
      const allowed = [await whoami(), await whoami(), await whoami()];
      expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(allowed[2]!.headers.get('x-rate-limit-remaining')).toBe('0');
      const before = sb.stats.budget429;
      const limited = await whoami();
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(50);
      expect(retryAfter).toBeLessThanOrEqual(60);
      for (const h of ['x-rate-limit-remaining', 'x-rate-limit-reset', 'x-request-cost']) {
        expect(limited.headers.get(h)).toBeNull();
      }
      expect(sb.stats.budget429).toBe(before + 1);
    } finally {
      sb.setKnobs({ rateLimitCredits: 50_000 });
    }
    expect((await whoami()).status).toBe(200);
  });

  it('throttleRate answers 429 Retry-After: 1 regardless of the budget', async () => {
    sb.setKnobs({ throttleRate: 1 });
    try {
      const res = await whoami();
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('x-rate-limit-remaining')).toBeNull();
    } finally {
      sb.setKnobs({ throttleRate: 0 });
    }
    sb.setKnobs({ throttleRate: 0.5 });
    try {
      const statuses = await Promise.all(Array.from({ length: 200 }, () => whoami().then((r) => r.status)));
      const throttled = statuses.filter((s) => s === 429).length;
      expect(throttled).toBeGreaterThan(60);
      expect(throttled).toBeLessThan(140);
      expect(statuses.filter((s) => s !== 429).every((s) => s === 200)).toBe(true);
    } finally {
      sb.setKnobs({ throttleRate: 0 });
    }
  });

  it('errorRate answers 500, 502 or 503 and costs no credits', async () => {
    sb.setKnobs({ errorRate: 1 });
    const statuses = new Set<number>();
    try {
      for (let i = 0; i < 30; i++) {
        const res = await whoami();
        statuses.add(res.status);
        expect(res.headers.get('x-rate-limit-remaining')).toBeNull();
        await res.arrayBuffer();
      }
    } finally {
      sb.setKnobs({ errorRate: 0 });
    }
    expect([...statuses].sort()).toEqual([500, 502, 503]);
    expect((await whoami()).status).toBe(200);
  });
});
