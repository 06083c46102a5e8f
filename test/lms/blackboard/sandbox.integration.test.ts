/**
 * The Learn adapter against the sandbox's Blackboard Learn mode (packages/sandbox/src/learn/): a token from
 * the client-credentials token provider (HTTP Basic key:secret at the Learn token URL), users and
 * memberships over REST, the Achievements pages and a certificate through a real WebSession whose
 * login is real Chromium on the Learn form.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../../src/auth/index.ts';
import { RedisLock } from '../../../src/auth/redis-lock.ts';
import { SealedBox } from '../../../src/auth/sealed-box.ts';
import { BrowserLogin, SessionStore, WebSession } from '../../../src/browser/index.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { createBlackboardAdapter } from '../../../src/lms/blackboard/adapter.ts';
import { loadSiteProfile } from '../../../src/lms/blackboard/site-profile.ts';
import { LEARN_WEB_PROFILE } from '../../../src/lms/blackboard/web-profile.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';
import { MemoryPdfSink } from '../../../src/pdf/index.ts';
import { connectRedis } from '../../../src/queue/index.ts';
import { AwardType, fromBasDate, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { HOSTILE_TITLE } from '@certharvest/sandbox/learn';
import { captureLogger, testRedisUrl, uniquePrefix } from '../../helpers/index.ts';
import { collect } from './learn-stub.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let sb: Sandbox;
let redis: Redis;
const prefix = uniquePrefix('bb-sandbox');
const { logger } = captureLogger('info');
let login: BrowserLogin;
let adapter: ReturnType<typeof createBlackboardAdapter>;
let session: WebSession;
let provider: Awaited<ReturnType<typeof createTokenProvider>>;

beforeAll(async () => {
  // Pages of 2, so memberships and users page.
  sb = await startSandbox({ userCount: 6, knobs: { learnPageSize: 2 } });
  redis = await connectRedis(testRedisUrl());
  const env = sb.learnEnv;
  const config = loadConfig({
    needs: ['lms', 'secrets-key'],
    envFile: false,
    env: {
      LMS: 'blackboard',
      LMS_USERNAME: env.LMS_USERNAME,
      LMS_PASSWORD: env.LMS_PASSWORD,
      LMS_URL: env.LMS_URL,
      AUTH_MODE: 'client-credentials',
      OAUTH_CLIENT_ID: env.OAUTH_CLIENT_ID,
      OAUTH_CLIENT_SECRET: env.OAUTH_CLIENT_SECRET,
      OAUTH_TOKEN_URL: env.OAUTH_TOKEN_URL,
      OAUTH_SCOPE: 'read',
      SECRETS_KEY: randomBytes(32).toString('base64'),
    },
  });
  expect(config.lms.auth.kind).toBe('client-secret');
  provider = await createTokenProvider({ config, redis, logger, keyPrefix: prefix });
  login = new BrowserLogin({
    lmsUrl: env.LMS_URL,
    username: env.LMS_USERNAME,
    password: () => env.LMS_PASSWORD,
    logger,
    profile: LEARN_WEB_PROFILE,
    ...(process.env.CHROMIUM_PATH ? { chromiumPath: process.env.CHROMIUM_PATH } : {}),
  });
  const store = new SessionStore({
    redis,
    box: new SealedBox(randomBytes(32)),
    host: new URL(env.LMS_URL).host,
    keyPrefix: prefix,
  });
  session = new WebSession({
    lmsUrl: env.LMS_URL,
    login,
    store,
    lock: new RedisLock(redis, store.lockKey, { ttlMs: 120_000 }),
    logger,
    maxPdfBytes: 50 * 1024 * 1024,
    profile: LEARN_WEB_PROFILE,
  });
  adapter = createBlackboardAdapter({
    lmsUrl: env.LMS_URL,
    tokens: provider,
    session,
    logger,
    redis,
    prefix,
  });
});

afterAll(async () => {
  await login?.close();
  await sb?.close();
  await redis?.quit();
});

/** Students with certificates in at least two courses first. */
function studentWithCertificates(skip: readonly number[] = []) {
  const students = sb.institution.students
    .filter((s) => !skip.includes(s.UserId))
    .map((s) => ({
      s,
      courses: new Set(sb.institution.certificatesOf(s.UserId).map((c) => c.OrgUnitId)).size,
    }))
    .sort((a, b) => b.courses - a.courses);
  const best = students[0];
  if (!best || best.courses === 0) throw new Error('the sandbox has no student with certificates');
  return best.s;
}

const certificatesIn = (entries: AwardEntry[]) =>
  entries.flatMap((e) => (e.ok && e.kind === 'certificate' ? [e.certificate] : []));

describe('Blackboard Learn adapter against the sandbox', () => {
  // Learn takes HTTP Basic as base64(key:secret) with the key as it is (its keys are full of "-"),
  // not form-encoded first as RFC 6749 §2.3.1 would have it.
  it('the client-credentials token provider gets a token from the Learn token route', async () => {
    expect(await provider.getAccessToken()).toMatch(/\S/);
  });

  it('resolves a user three ways, lists every certificate, downloads one byte for byte', async () => {
    const student = studentWithCertificates();
    const { directory, fetcher, client } = adapter;
    for (const [by, value] of [
      ['userId', String(student.UserId)],
      ['userName', student.UserName],
      ['orgDefinedId', student.OrgDefinedId ?? ''],
    ] as const) {
      expect(await directory.resolveUser(by, value)).toEqual({
        userId: `_${student.UserId}_1`,
        userName: student.UserName,
      });
    }

    const entries = await collect(directory.listAwards(`_${student.UserId}_1`));
    expect(entries.filter((e) => !e.ok)).toEqual([]);
    const expected = sb.institution.certificatesOf(student.UserId);
    const byId = (a: { issuedId: unknown }, b: { issuedId: unknown }) =>
      String(a.issuedId).localeCompare(String(b.issuedId));
    expect(certificatesIn(entries).sort(byId)).toEqual(
      [...expected]
        .map((a) => ({
          userId: `_${student.UserId}_1`,
          orgUnitId: `_${a.OrgUnitId}_1`,
          issuedId: `_${a.IssuedId}_1`,
          awardId: `_${a.Award.AwardId}_1`,
          title: a.Award.Title,
          // The course's name comes with the memberships listing (`expand=course`).
          orgUnitName: sb.institution.course(a.OrgUnitId)!.Name,
          // The page's `datetime` has whole seconds.
          issuedDate: new Date(Math.floor(fromBasDate(a.IssuedDate).getTime() / 1000) * 1000).toISOString(),
        }))
        .sort(byId),
    );
    const badges = sb.institution
      .awardsOf(student.UserId)
      .filter((a) => a.Award.AwardType !== AwardType.Certificate);
    expect(entries.filter((e) => e.ok && e.kind === 'badge')).toHaveLength(badges.length);
    // The memberships were paged (2 per page), each course's page read once, with one login.
    expect(sb.stats.learnWebLogins).toBe(1);

    const cert = certificatesIn(entries)[0]!;
    const sink = new MemoryPdfSink();
    expect(await fetcher.viaApi(cert, sink)).toBe('unsupported');
    const facts = await fetcher.viaBrowser(cert, sink, () => {});
    expect(facts.contentType).toBe('application/pdf');
    expect(sha(sink.bytes())).toBe(
      sha(await sb.certificatePdf(Number(/^_(\d+)_1$/.exec(String(cert.issuedId))![1]))),
    );

    // Every REST call was counted (the token endpoint is not a REST call of the quota).
    expect(await client.callsToday()).toBe(sb.stats.learnRestCalls);
    expect(client.quota()).toMatchObject({ limit: 10_000 });
  });

  it('lists every user of the institution across pages; the LMS is reachable', async () => {
    // The probe carries no token: not a call of the app's quota, and not counted.
    expect(await adapter.directory.reachable()).toBe(true);
    const ids = await collect(adapter.directory.listAllUserIds());
    expect(ids.map(String).sort()).toEqual(sb.institution.users.map((u) => `_${u.UserId}_1`).sort());
  });

  it('refuses the hostile items of a page one by one and keeps the real certificates', async () => {
    const student = studentWithCertificates();
    sb.setKnobs({ learnHostileUserIds: [student.UserId] });
    try {
      const entries = await collect(adapter.directory.listAwards(`_${student.UserId}_1`));
      const courses = (await collect(adapter.client.listMemberships(student.UserId))).length;
      const refused = entries.flatMap((e) => (e.ok ? [] : [e]));
      // Per course page: ids `../_12_1` and `_12_1;x`, and one link to another host.
      expect(refused).toHaveLength(3 * courses);
      expect(refused.every((r) => r.code === 'LMS_DATA_INVALID')).toBe(true);
      expect(refused.filter((r) => /another host/.test(r.reason))).toHaveLength(courses);
      expect(refused.filter((r) => /"\.\.\/_12_1" is not a usable Learn id/.test(r.reason))).toHaveLength(
        courses,
      );
      const certs = certificatesIn(entries);
      expect(certs).toHaveLength(sb.institution.certificatesOf(student.UserId).length);
      // The HTML of a hostile title is text, never markup.
      expect(certs.filter((c) => c.title === HOSTILE_TITLE).length).toBeGreaterThan(0);
    } finally {
      sb.setKnobs({ learnHostileUserIds: [] });
    }
  });

  it('harvests the other markup (a table, signed links) with mixed ids, by the example profile alone', async () => {
    const profile = loadSiteProfile(
      new URL('../../../docs/examples/learn-table-profile.yaml', import.meta.url).pathname,
    );
    const table = createBlackboardAdapter({
      lmsUrl: sb.learnEnv.LMS_URL,
      tokens: provider,
      session,
      logger,
      profile,
    });
    const student = sb.institution.students.find(
      (s) => s.UserId % 2 === 0 && sb.institution.certificatesOf(s.UserId).length > 0,
    );
    if (!student) throw new Error('no student with an even UserId and certificates');
    sb.setKnobs({ learnMarkup: 'table', learnIds: 'mixed' });
    try {
      const { userId } = await table.directory.resolveUser('userName', student.UserName);
      expect(userId).toBe(`_${student.UserId}_4`);
      const entries = await collect(table.directory.listAwards(userId));
      expect(entries.filter((e) => !e.ok)).toEqual([]);
      const certs = certificatesIn(entries);
      const expected = sb.institution.certificatesOf(student.UserId);
      expect(certs).toHaveLength(expected.length);
      for (const cert of certs) {
        const award = expected.find(
          (a) => cert.issuedId === (a.IssuedId % 2 === 0 ? `_${a.IssuedId}_4` : `_${a.IssuedId}_1`),
        )!;
        expect(award).toBeDefined();
        expect(cert.orgUnitId).toMatch(/^[0-9a-f]{32}$/);
        expect(cert.userId).toBe(userId);
        const sink = new MemoryPdfSink();
        await table.fetcher.viaBrowser(cert, sink, () => {});
        expect(sha(sink.bytes())).toBe(sha(await sb.certificatePdf(award.IssuedId)));
      }
      // The default profile finds nothing there: its page is not on this site.
      const plain = await collect(adapter.directory.listAwards(userId));
      expect(certificatesIn(plain)).toEqual([]);
      expect(plain.every((e) => !e.ok && e.code === 'LMS_REQUEST_REJECTED')).toBe(true);
    } finally {
      sb.setKnobs({ learnMarkup: 'default', learnIds: 'n1' });
    }
  });
});
