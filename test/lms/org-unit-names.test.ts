/**
 * Brightspace certificates carry their org unit's name (`lp` `orgstructure/(orgUnitId)`): asked
 * once per org unit per process, shared by concurrent listings, never again after a 403, never
 * with BRIGHTSPACE_ORG_UNIT_NAMES=false, and never at the cost of a certificate.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createBrightspaceAdapter } from '../../src/lms/brightspace/index.ts';
import { OrgUnitNames } from '../../src/lms/brightspace/org-unit-names.ts';
import { RedisRateStateStore } from '../../src/lms/fleet-rate-state.ts';
import type { AccessTokenSource } from '../../src/lms/http-client.ts';
import type { AwardEntry } from '../../src/lms/ports.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';
import { captureLogger, testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { accessToken } from '../sandbox/helpers.ts';
import { sendJson, type StubServer } from './stub-http.ts';
import { FakeTokens, issued, startValence } from './valence-stub.ts';

const ORG_STRUCTURE = 'GET /d2l/api/lp/:version/orgstructure/:orgUnitId';

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const certificatesOf = (entries: AwardEntry[]): Certificate[] =>
  entries.flatMap((e) => (e.ok && e.kind === 'certificate' ? [e.certificate] : []));

describe('org unit names against the sandbox', () => {
  let sb: Sandbox;
  let tokens: AccessTokenSource;
  let redis: Redis;

  beforeAll(async () => {
    sb = await startSandbox({ seed: 5, userCount: 12 });
    const token = await accessToken(sb);
    tokens = { getAccessToken: async () => token, invalidate: () => {} };
    redis = await connectRedis(testRedisUrl());
  });
  afterAll(async () => {
    await sb?.close();
    await redis?.quit();
  });
  beforeEach(() => {
    sb.setKnobs({ orgStructureScopeMissing: false });
    sb.resetStats();
  });

  const students = () =>
    sb.institution.students.filter((s) => sb.institution.certificatesOf(s.UserId).length);
  const adapter = (logger = captureLogger().logger) =>
    createBrightspaceAdapter({ lmsUrl: sb.url, tokens, session: undefined, logger });
  const lookups = () => sb.stats.routes[ORG_STRUCTURE] ?? 0;

  it('names every certificate after its course, asking once per org unit', async () => {
    const { directory } = adapter();
    const found: Certificate[] = [];
    for (const student of students())
      found.push(...certificatesOf(await collect(directory.listAwards(student.UserId))));
    const expected = students().flatMap((s) => sb.institution.certificatesOf(s.UserId));
    expect(found.map((c) => c.issuedId)).toEqual(expected.map((a) => a.IssuedId));
    for (const c of found) expect(c.orgUnitName).toBe(sb.institution.course(Number(c.orgUnitId))!.Name);
    const orgUnits = new Set(found.map((c) => c.orgUnitId));
    expect(orgUnits.size).toBeGreaterThan(1);
    expect(lookups()).toBe(orgUnits.size);

    // Known for the process's life: a second pass asks nothing more.
    for (const student of students()) await collect(directory.listAwards(student.UserId));
    expect(lookups()).toBe(orgUnits.size);
  });

  it('concurrent listings of the same org units share one request each', async () => {
    const { directory } = adapter();
    const student = students().find((s) => sb.institution.certificatesOf(s.UserId).length > 1)!;
    const lists = await Promise.all([1, 2, 3].map(() => collect(directory.listAwards(student.UserId))));
    const orgUnits = new Set(sb.institution.certificatesOf(student.UserId).map((a) => a.OrgUnitId));
    expect(lookups()).toBe(orgUnits.size);
    for (const list of lists) {
      expect(certificatesOf(list).every((c) => c.orgUnitName !== undefined)).toBe(true);
    }
  });

  it('a 403 (the app lacks the scope) is asked once, warned about once, and never again; nothing is lost', async () => {
    sb.setKnobs({ orgStructureScopeMissing: true });
    const log = captureLogger();
    const { directory } = adapter(log.logger);
    const found: Certificate[] = [];
    for (const student of students())
      found.push(...certificatesOf(await collect(directory.listAwards(student.UserId))));
    expect(found.map((c) => c.issuedId)).toEqual(
      students().flatMap((s) => sb.institution.certificatesOf(s.UserId).map((a) => a.IssuedId)),
    );
    expect(found.every((c) => c.orgUnitName === undefined)).toBe(true);
    expect(lookups()).toBe(1);
    const warnings = log.lines.filter((l) => String(l.msg).includes('org structure route answered 403'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ missingScope: 'orgunits:course:read' });

    // Refused for the process's life, even once the tenant would answer.
    sb.setKnobs({ orgStructureScopeMissing: false });
    await collect(directory.listAwards(students()[0]!.UserId));
    expect(lookups()).toBe(1);
  });

  it('BRIGHTSPACE_ORG_UNIT_NAMES=false never asks; the default (true) does', async () => {
    const build = async (extra: Record<string, string>) => {
      const config = loadConfig({ env: { ...sb.env, ...extra }, envFile: false, needs: ['lms'] });
      const prefix = uniquePrefix('ou-names');
      const handle = await config.lms.site.createAdapter({
        lmsUrl: sb.url,
        tokens,
        webSession: undefined,
        downloadStrategy: 'api',
        logger: captureLogger().logger,
        redis,
        prefix,
        rateState: new RedisRateStateStore(redis, prefix, config.lms.host),
      });
      return { config, directory: handle.directory };
    };
    const student = students()[0]!;

    const off = await build({ BRIGHTSPACE_ORG_UNIT_NAMES: 'false' });
    expect(off.config.lms.site.summary).toMatchObject({ BRIGHTSPACE_ORG_UNIT_NAMES: 'false' });
    const plain = certificatesOf(await collect(off.directory.listAwards(student.UserId)));
    expect(plain).toHaveLength(sb.institution.certificatesOf(student.UserId).length);
    expect(plain.every((c) => c.orgUnitName === undefined)).toBe(true);
    expect(lookups()).toBe(0);

    const on = await build({});
    expect(on.config.lms.site.summary).not.toHaveProperty('BRIGHTSPACE_ORG_UNIT_NAMES');
    const named = certificatesOf(await collect(on.directory.listAwards(student.UserId)));
    expect(named.every((c) => c.orgUnitName !== undefined)).toBe(true);
    expect(lookups()).toBeGreaterThan(0);

    expect(() =>
      loadConfig({ env: { ...sb.env, BRIGHTSPACE_ORG_UNIT_NAMES: 'maybe' }, envFile: false, needs: ['lms'] }),
    ).toThrow(/BRIGHTSPACE_ORG_UNIT_NAMES/);
  });
});

describe('org unit names when the route misbehaves', () => {
  const AWARDS = '/d2l/api/bas/1.4/issued/users/5/';
  const ORG_UNIT = '/d2l/api/lp/1.53/orgstructure/6609';
  let server: StubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const listing = (answer: Parameters<typeof startValence>[0][string]) =>
    startValence({
      [`GET ${AWARDS}`]: (_q, res) => sendJson(res, 200, { Next: null, Objects: [issued(1), issued(2)] }),
      [`GET ${ORG_UNIT}`]: answer,
    });
  const list = async () => {
    const { directory } = createBrightspaceAdapter({
      lmsUrl: server!.origin,
      tokens: new FakeTokens(),
      session: undefined,
      logger: captureLogger().logger,
    });
    return certificatesOf(await collect(directory.listAwards(5)));
  };
  const asked = () => server!.seen.filter((r) => r.url === ORG_UNIT).length;

  it.each([
    ['a 500 (after the retries in place)', (res: Parameters<typeof sendJson>[0]) => sendJson(res, 500, {})],
    ['a body that is not JSON', (res: Parameters<typeof sendJson>[0]) => res.end('<html>oops</html>')],
    [
      'another org unit',
      (res: Parameters<typeof sendJson>[0]) => sendJson(res, 200, { Identifier: '6610', Name: 'Elsewhere' }),
    ],
  ])('%s leaves the name unset and lists every certificate', async (_name, answer) => {
    server = await listing((_q, res) => answer(res));
    const certificates = await list();
    expect(certificates.map((c) => c.issuedId)).toEqual([1, 2]);
    expect(certificates.every((c) => c.orgUnitName === undefined)).toBe(true);
    // Both certificates share the org unit: the failure is not asked again at once.
    expect(asked()).toBe(_name.startsWith('a 500') ? 3 : 1);
  });

  it('a 404 is remembered for that org unit; an odd Name is no name', async () => {
    server = await listing((_q, res) => sendJson(res, 404, { Errors: [{ Message: 'Resource Not Found' }] }));
    expect((await list()).map((c) => c.orgUnitName)).toEqual([undefined, undefined]);
    expect(asked()).toBe(1);
    await server.close();

    server = await listing((_q, res) => sendJson(res, 200, { Identifier: '6609', Name: 42 }));
    expect((await list()).map((c) => c.orgUnitName)).toEqual([undefined, undefined]);
  });

  it('a name is made fit for a manifest row: one line, at most 1000 characters', async () => {
    const long = `Safety\u0000\nTraining ${'x'.repeat(2000)}`;
    server = await listing((_q, res) => sendJson(res, 200, { Identifier: 6609, Name: long, Code: null }));
    const [first] = await list();
    expect(first!.orgUnitName).toMatch(/^Safety Training x+…$/);
    expect(first!.orgUnitName).toHaveLength(1000);
  });
});

describe('OrgUnitNames', () => {
  it('a failure is asked again only after retryAfterMs; the cache keeps at most maxEntries', async () => {
    let now = 0;
    const calls: number[] = [];
    let failing = true;
    const names = new OrgUnitNames({
      lookup: async (id) => {
        calls.push(id);
        if (failing) throw new Error('timeout');
        return { kind: 'found', name: `Unit ${id}` };
      },
      logger: captureLogger().logger,
      maxEntries: 2,
      retryAfterMs: 1000,
      now: () => now,
    });
    expect(await names.name(1)).toBeUndefined();
    expect(await names.name(1)).toBeUndefined();
    expect(calls).toEqual([1]);
    failing = false;
    now = 1000;
    expect(await names.name(1)).toBe('Unit 1');
    expect(await names.name(2)).toBe('Unit 2');
    expect(await names.name(3)).toBe('Unit 3');
    expect(names.size).toBe(2);
    expect(await names.name(1)).toBe('Unit 1'); // dropped as the oldest, so asked again
    expect(calls).toEqual([1, 1, 2, 3, 1]);
    expect(
      () =>
        new OrgUnitNames({
          lookup: async () => ({ kind: 'not-found' }),
          logger: captureLogger().logger,
          maxEntries: 0,
        }),
    ).toThrow(/maxEntries/);
  });
});
