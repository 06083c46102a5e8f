import { MemoryPdfSink } from '../../src/pdf/index.ts';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTokenProvider, type TokenProvider } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { UserNotFoundError } from '../../src/lms/index.ts';
import { BrightspaceClient, certificatesOnly, type IssuedAward } from '../../src/lms/brightspace/index.ts';
import { fromBasDate, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { captureLogger } from '../auth/harness.ts';

/** The Brightspace client against the sandbox's Valence routes, with real tokens from Redis. */
describe('BrightspaceClient against the sandbox LMS', () => {
  let sb: Sandbox;
  let redis: Redis;
  let tokens: TokenProvider;
  let client: BrightspaceClient;
  const { logger } = captureLogger();

  beforeAll(async () => {
    sb = await startSandbox({ userCount: 12, usersPageSize: 4, awardsPageSize: 2 });
    redis = new Redis(testRedisUrl());
    tokens = await createTokenProvider({
      config: loadConfig({
        needs: ['lms', 'secrets-key'],
        envFile: false,
        env: { ...sb.env, SECRETS_KEY: randomBytes(32).toString('base64') },
      }),
      redis,
      logger,
      keyPrefix: uniquePrefix('sblms'),
    });
    client = new BrightspaceClient({ baseUrl: sb.url, tokens, logger });
  });
  afterAll(async () => {
    await sb?.close();
    await redis?.quit();
  });
  beforeEach(() => {
    sb.setKnobs({ throttleRate: 0, pdfApi: false });
    sb.resetStats();
  });

  it('negotiates versions and finds users by id, user name and org-defined id', async () => {
    expect(await client.negotiateVersions()).toEqual({ lp: '1.53', bas: '1.4' });
    expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
    const student = sb.institution.students[0]!;
    expect((await client.getUser(student.UserId)).userName).toBe(student.UserName);
    expect((await client.findUserByUserName(student.UserName.toUpperCase())).userId).toBe(student.UserId);
    expect((await client.findUserByOrgDefinedId(student.OrgDefinedId)).userId).toBe(student.UserId);
    await expect(client.getUser(999_999)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(client.findUserByUserName('nobody-here')).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(client.findUserByOrgDefinedId('NOPE')).rejects.toBeInstanceOf(UserNotFoundError);
  });

  it('lists every user across bookmark pages', async () => {
    const ids: number[] = [];
    for await (const result of client.listUsers()) {
      expect(result.ok).toBe(true);
      if (result.ok) ids.push(result.value.userId);
    }
    expect(ids).toEqual(sb.institution.users.map((u) => u.UserId));
    expect(sb.stats.routes['GET /d2l/api/lp/:version/users']).toBeGreaterThan(3);
  });

  it('pages through issued awards (absolute and relative Next) and keeps exactly the certificates', async () => {
    for (const student of sb.institution.students) {
      const { awards, invalid } = await client.getIssuedAwards(student.UserId);
      expect(invalid).toEqual([]);
      expect(awards.map((a) => a.issuedId)).toEqual(
        sb.institution.awardsOf(student.UserId).map((a) => a.IssuedId),
      );
      const expected = sb.institution.certificatesOf(student.UserId);
      const certificates: IssuedAward[] = certificatesOnly(awards);
      expect(certificates.map((c) => [c.issuedId, c.orgUnitId, c.title, c.issuedDate?.getTime()])).toEqual(
        expected.map((c) => [c.IssuedId, c.OrgUnitId, c.Award.Title, fromBasDate(c.IssuedDate).getTime()]),
      );
    }
    expect(sb.institution.certificates().length).toBeGreaterThan(0);
  });

  it('rides out 429s in place', async () => {
    sb.setKnobs({ throttleRate: 0.25 });
    for (let i = 0; i < 3; i++) {
      expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
    }
    expect(sb.stats.throttled429).toBeGreaterThan(0);
  });

  it('downloads a certificate through the /pdf route where the tenant has it', async () => {
    const certificate = sb.institution.certificates()[0]!;
    expect(await client.fetchCertificatePdf(certificate.IssuedId, new MemoryPdfSink())).toEqual({
      kind: 'unsupported',
      status: 404,
    });
    sb.setKnobs({ pdfApi: true });
    const sink = new MemoryPdfSink();
    const pdf = await client.fetchCertificatePdf(certificate.IssuedId, sink);
    expect(pdf.kind).toBe('pdf');
    if (pdf.kind !== 'pdf') return;
    expect(pdf.contentType).toMatch(/^application\/pdf/);
    expect(sink.bytes().equals(Buffer.from(await sb.certificatePdf(certificate.IssuedId)))).toBe(true);
  });

  it('a 401 makes it ask the provider for a new token and retry once', async () => {
    const first = await tokens.getAccessToken();
    let stale = true;
    const flaky = {
      getAccessToken: async () => (stale ? 'revoked-token' : tokens.getAccessToken()),
      invalidate: (token?: string) => {
        stale = false;
        tokens.invalidate(token);
      },
    };
    const c = new BrightspaceClient({ baseUrl: sb.url, tokens: flaky, logger });
    expect((await c.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
    expect(sb.stats.unauthorized401).toBe(1);
    expect(await tokens.getAccessToken()).toBe(first); // a 401 for another token does not renew ours
  });
});
