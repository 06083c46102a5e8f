/**
 * The Learn adapter against the sandbox's Blackboard Learn mode (src/sandbox/learn/): a token from
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
import { createBlackboardAdapter } from '../../../src/lms/index.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';
import { MemoryPdfSink } from '../../../src/pdf/index.ts';
import { connectRedis } from '../../../src/queue/index.ts';
import { AwardType, fromBasDate, startSandbox, type Sandbox } from '../../../src/sandbox/index.ts';
import { HOSTILE_TITLE } from '../../../src/sandbox/learn/index.ts';
import { captureLogger, testRedisUrl, uniquePrefix } from '../../helpers/index.ts';
import { collect } from './learn-stub.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let sb: Sandbox;
let redis: Redis;
const prefix = uniquePrefix('bb-sandbox');
const { logger } = captureLogger('info');
let login: BrowserLogin;
let adapter: ReturnType<typeof createBlackboardAdapter>;
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
    loginPath: env.LMS_LOGIN_URL,
    landingPath: env.LMS_LOGIN_LANDING,
    loginUrlPatterns: [/\/webapps\/login\//],
    loginFailedPatterns: [/[?&]action=relogin\b/],
    selectors: {
      username: env.LMS_LOGIN_USER_SELECTOR,
      password: env.LMS_LOGIN_PASSWORD_SELECTOR,
      submit: env.LMS_LOGIN_SUBMIT_SELECTOR,
    },
    ...(process.env.CHROMIUM_PATH ? { chromiumPath: process.env.CHROMIUM_PATH } : {}),
  });
  const store = new SessionStore({
    redis,
    box: new SealedBox(randomBytes(32)),
    host: new URL(env.LMS_URL).host,
    keyPrefix: prefix,
  });
  const session = new WebSession({
    lmsUrl: env.LMS_URL,
    login,
    store,
    lock: new RedisLock(redis, store.lockKey, { ttlMs: 120_000 }),
    logger,
    maxPdfBytes: 50 * 1024 * 1024,
    landingPath: env.LMS_LOGIN_LANDING,
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
      expect(await directory.resolveUser(by, value)).toEqual({ userId: student.UserId });
    }

    const entries = await collect(directory.listAwards(student.UserId));
    expect(entries.filter((e) => !e.ok)).toEqual([]);
    const expected = sb.institution.certificatesOf(student.UserId);
    expect(certificatesIn(entries).sort((a, b) => a.issuedId - b.issuedId)).toEqual(
      [...expected]
        .sort((a, b) => a.IssuedId - b.IssuedId)
        .map((a) => ({
          userId: student.UserId,
          orgUnitId: a.OrgUnitId,
          issuedId: a.IssuedId,
          awardId: a.Award.AwardId,
          title: a.Award.Title,
          // The page's `datetime` has whole seconds.
          issuedDate: new Date(Math.floor(fromBasDate(a.IssuedDate).getTime() / 1000) * 1000).toISOString(),
        })),
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
    expect(sha(sink.bytes())).toBe(sha(await sb.certificatePdf(cert.issuedId)));

    // Every REST call was counted (the token endpoint is not a REST call of the quota).
    expect(await client.callsToday()).toBe(sb.stats.learnRestCalls);
    expect(client.quota()).toMatchObject({ limit: 10_000 });
  });

  it('lists every user of the institution across pages; the LMS is reachable', async () => {
    // The probe carries no token: not a call of the app's quota, and not counted.
    expect(await adapter.directory.reachable()).toBe(true);
    const ids = await collect(adapter.directory.listAllUserIds());
    expect(ids.sort((a, b) => a - b)).toEqual(
      sb.institution.users.map((u) => u.UserId).sort((a, b) => a - b),
    );
  });

  it('refuses the hostile items of a page one by one and keeps the real certificates', async () => {
    const student = studentWithCertificates();
    sb.setKnobs({ learnHostileUserIds: [student.UserId] });
    try {
      const entries = await collect(adapter.directory.listAwards(student.UserId));
      const courses = (await collect(adapter.client.listMemberships(student.UserId))).length;
      const refused = entries.flatMap((e) => (e.ok ? [] : [e]));
      // Per course page: ids `_12_2` and `abc`, and one link to another host.
      expect(refused).toHaveLength(3 * courses);
      expect(refused.every((r) => r.code === 'LMS_DATA_INVALID')).toBe(true);
      expect(refused.filter((r) => /another host/.test(r.reason))).toHaveLength(courses);
      expect(refused.filter((r) => /"_12_2" is not a Learn id/.test(r.reason))).toHaveLength(courses);
      const certs = certificatesIn(entries);
      expect(certs).toHaveLength(sb.institution.certificatesOf(student.UserId).length);
      // The HTML of a hostile title is text, never markup.
      expect(certs.filter((c) => c.title === HOSTILE_TITLE).length).toBeGreaterThan(0);
    } finally {
      sb.setKnobs({ learnHostileUserIds: [] });
    }
  });
});
