/**
 * The field names of every JSON (and stream entry) certharvest gives out, pinned as the real code
 * produces them. A field renamed, removed or added fails here: make it a conscious change — a
 * line in CHANGELOG.md, SCHEMA_VERSION raised for a rename or a removal, docs/api.md's field
 * reference and the lists below updated together.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type Certificate } from '../../src/certificate/index.ts';
import { Secret } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchAccounting,
  batchEventsKey,
  BatchTracker,
  connectRedis,
  isFinal,
  openQueues,
  type CertharvestQueues,
} from '../../src/queue/index.ts';
import { MANIFEST_COLUMNS } from '../../src/report/manifest.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { CertificateStore } from '../../src/storage/index.ts';
import { batchWebhookBody } from '../../src/webhook/batch-webhook.ts';
import { runCli, tempDir, testRedisUrl, uniquePrefix, settleUser } from '../helpers/index.ts';

// ---- The pinned names. ----------------------------------------------------------------------

/** `BatchStatus` (src/queue/batch-tracker.ts): in every batch, `status --json` and the API. */
const BATCH_STATUS = [
  'batchId',
  'createdAt',
  'by',
  'enumerating',
  'usersTotal',
  'usersDone',
  'usersFailed',
  'usersCancelled',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
  'certsCancelled',
  'badgesIgnored',
  'done',
  'state',
  'failures',
];
/** Present only when they apply. */
const BATCH_STATUS_OPTIONAL = ['finishedAt', 'cancelledAt', 'retryOf', 'retriedBy', 'refresh'];
const LINKS = ['links.self', 'links.failures', 'links.certificates'];
/** `GET /api/batches/:id`. */
const BATCH_API = ['schemaVersion', ...BATCH_STATUS, 'failuresTotal', 'fleetPause', ...LINKS];
/** `certharvest status <id> --json` (src/cli/commands/status.ts). */
const BATCH_CLI = ['schemaVersion', ...BATCH_STATUS, 'fleetPause', 'workersOutOfService'];
const FAILURE = ['kind', 'ref', 'code', 'reason', 'at'];
const MANIFEST_ROW = [
  'kind',
  'userRef',
  'userId',
  'userName',
  'orgUnitId',
  'orgUnitName',
  'issuedId',
  'title',
  'issuedDate',
  'status',
  'code',
  'reason',
  'path',
  'sha256',
  'bytes',
  'source',
];
const SUBMIT_ANSWER = ['schemaVersion', 'batchId', 'queued', 'rejected', 'duplicates', 'allUsers', ...LINKS];
const FAILURES_PAGE = ['schemaVersion', 'batchId', 'total', 'offset', 'limit', 'next', 'failures'];
const CERTIFICATES_PAGE = ['schemaVersion', 'batchId', 'total', 'offset', 'rows', 'next'];
const CANCEL_ANSWER = [
  'schemaVersion',
  'batchId',
  'outcome',
  'state',
  'cancelledAt',
  'usersRemoved',
  'downloadsRemoved',
  'downloadsLeftToOthers',
  'stillRunning',
  ...LINKS,
];
const RETRY_ANSWER = ['schemaVersion', 'batchId', 'retryOf', 'queued', 'allUsers', ...LINKS, 'links.retryOf'];
const WEBHOOK = [
  'schemaVersion',
  'event',
  'batchId',
  'finishedAt',
  'state',
  'retryOf',
  'usersTotal',
  'usersFailed',
  'usersCancelled',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
  'certsCancelled',
  'certificates.url',
  'certificates.file',
];
/** The sidecar beside each PDF (`StoredCertificate`, src/certificate/index.ts). */
const SIDECAR = [
  'schemaVersion',
  'userId',
  'orgUnitId',
  'issuedId',
  'awardId',
  'title',
  'issuedDate',
  'sha256',
  'bytes',
  'source',
  'downloadedAt',
  'lmsHost',
];
const SIDECAR_OPTIONAL = ['orgUnitName', 'userRef'];
/** A `batch.done` entry of `<prefix>:batch-events` (its fields, in order). */
const BATCH_EVENT = [
  'event',
  'schemaVersion',
  'batchId',
  'at',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
  'usersFailed',
  'cancelled',
  'certsCancelled',
  'usersCancelled',
  'certificates',
  'manifestFile',
];

// ---- A real batch, through the queue layer and the API. -------------------------------------

const KEY = randomBytes(32).toString('hex');
const prefix = uniquePrefix('contract');
let redis: Redis;
let queues: CertharvestQueues;
let accounting: BatchAccounting;
let tracker: BatchTracker;
let board: BoardServer;
let api: string;

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
  board = await startBoardServer({
    queues: [queues.discover, queues.download],
    redis,
    user: 'ops',
    password: 'correct horse battery',
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    batchApi: {
      apiKeys: [{ name: 'contract', key: new Secret(KEY), scopes: ['submit', 'read:all'] }],
      queues,
      prefix,
    },
  });
  api = `${board.url}api/batches`;
});
afterAll(async () => {
  await board.close();
  await queues.close();
  await redis.quit();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers are what is under test
type Json = any;

async function call(route: string, method = 'GET', body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${api}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

/** The keys of `value`, sorted; the keys of each object under `nested` as `<key>.<sub>`. */
function fieldsOf(value: Record<string, unknown>, nested: readonly string[] = []): string[] {
  return Object.entries(value)
    .flatMap(([k, v]) =>
      nested.includes(k) && v && typeof v === 'object' ? Object.keys(v).map((sub) => `${k}.${sub}`) : [k],
    )
    .sort();
}
const sorted = (names: readonly string[]) => [...names].sort();

/** Every shape, read from the real code once. */
const seen: Record<string, { fields: string[]; optional?: string[] }> = {};

describe('field names (a rename is a versioned change: CHANGELOG.md, SCHEMA_VERSION, docs/api.md)', () => {
  it('the batch, its failures, its manifest, the API answers and the events entry', async () => {
    // A: a failed user, a stored certificate, then cancelled, then retried (B); refresh.
    const submitted = await call('', 'POST', { batchId: 'ct-a', users: [1001, 1002, 'x y'], refresh: true });
    expect(submitted.status).toBe(201);
    expect(fieldsOf(submitted.json, ['links'])).toEqual(sorted(SUBMIT_ANSWER));
    await settleUser({ redis, prefix }, 'ct-a', '1001', {
      status: 'failed',
      code: 'LMS_USER_NOT_FOUND',
      reason: 'no such user',
    });
    const [download] = await accounting.expectCertificates('ct-a', [
      {
        certKey: 'school.example:6606:41',
        ref: '6606-41 (user 1002)',
        alreadyStored: false,
        row: {
          userRef: 'userId:1002',
          userId: 1002,
          userName: 'jdoe',
          orgUnitId: 6606,
          orgUnitName: 'Safety',
          issuedId: 41,
          title: 'Safety Training',
          issuedDate: '2026-05-13T20:01:00.827Z',
        },
      },
    ]);
    await accounting.settleDownload(download!.jobId, {
      status: 'stored',
      path: '/out/1002/6606-41.pdf',
      sha256: 'c'.repeat(64),
      bytes: 1234,
      source: 'browser',
    });

    const fresh = await call('/ct-a');
    expect(fieldsOf(fresh.json, ['links'])).toEqual(sorted([...BATCH_API, 'refresh']));
    expect(fresh.json.schemaVersion).toBe(SCHEMA_VERSION);

    const cancelled = await call('/ct-a/cancel', 'POST');
    expect(cancelled.status).toBe(200);
    seen.cancel = { fields: fieldsOf(cancelled.json, ['links']) };
    const retried = await call('/ct-a/retry', 'POST');
    expect(retried.status).toBe(201);
    seen.retry = { fields: fieldsOf(retried.json, ['links']) };

    const a = (await call('/ct-a')).json;
    const b = (await call(`/${retried.json.batchId}`)).json;
    expect(a.state).toBe('cancelled');
    const union = [...new Set([...fieldsOf(a, ['links']), ...fieldsOf(b, ['links'])])].sort();
    seen.batch = { fields: union, optional: BATCH_STATUS_OPTIONAL };
    expect(union).toEqual(sorted([...BATCH_API, ...BATCH_STATUS_OPTIONAL]));
    // Without the optional facts: exactly the required fields.
    expect((await call('', 'POST', { batchId: 'ct-c', users: [5] })).status).toBe(201);
    expect(fieldsOf((await call('/ct-c')).json, ['links'])).toEqual(sorted(BATCH_API));

    const failures = (await call('/ct-a/failures')).json;
    seen.failuresPage = { fields: fieldsOf(failures) };
    seen.failure = { fields: fieldsOf(failures.failures[0]) };
    expect(failures.failures.map((f: Json) => f.ref)).toEqual(['x y', 'userId 1001']);

    const page = (await call('/ct-a/certificates')).json;
    seen.certificatesPage = { fields: fieldsOf(page) };
    for (const row of page.rows) expect(fieldsOf(row)).toEqual(sorted(MANIFEST_ROW));
    seen.manifestRow = { fields: fieldsOf(page.rows.find((r: Json) => r.kind === 'certificate')) };
    expect(page.rows.find((r: Json) => r.kind === 'certificate')).toMatchObject({
      path: '1002/6606-41.pdf',
      source: 'browser',
    });
    expect(sorted(MANIFEST_COLUMNS)).toEqual(sorted(MANIFEST_ROW));

    // The batch events entry, as the stream has it.
    const events = await redis.xrange(batchEventsKey(prefix), '-', '+');
    const entry = events.find(([, f]) => f[f.indexOf('batchId') + 1] === 'ct-a');
    const names = entry![1].filter((_, i) => i % 2 === 0);
    seen.event = { fields: sorted(names) };
    expect(names).toEqual(BATCH_EVENT);

    // The webhook body, built from the ended batch as a delivery builds it.
    const status = await tracker.status('ct-a', 1);
    expect(status && isFinal(status.state)).toBe(true);
    const body = batchWebhookBody(status as Parameters<typeof batchWebhookBody>[0], {
      file: '_batches/ct-a.csv',
    });
    seen.webhook = { fields: fieldsOf(body as unknown as Record<string, unknown>, ['certificates']) };

    // `certharvest status <id> --json`, the real CLI.
    const dir = await tempDir('contract-cli');
    try {
      const cli = await runCli(
        ['status', 'ct-a', '--json'],
        { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' },
        dir.dir,
      );
      expect(cli.stderr).toBe('');
      const cliJson = JSON.parse(cli.stdout) as Record<string, unknown>;
      expect(fieldsOf(cliJson)).toEqual(
        sorted([...BATCH_CLI, 'finishedAt', 'cancelledAt', 'retriedBy', 'refresh']),
      );
      seen.batch.fields = [...new Set([...seen.batch.fields, ...fieldsOf(cliJson)])].sort();
    } finally {
      await dir.cleanup();
    }

    expect(seen.failure.fields).toEqual(sorted(FAILURE));
    expect(seen.failuresPage.fields).toEqual(sorted(FAILURES_PAGE));
    expect(seen.certificatesPage.fields).toEqual(sorted(CERTIFICATES_PAGE));
    expect(seen.cancel.fields).toEqual(sorted(CANCEL_ANSWER));
    expect(seen.retry.fields).toEqual(sorted(RETRY_ANSWER));
    expect(seen.webhook.fields).toEqual(sorted(WEBHOOK));
    seen.submit = { fields: sorted(SUBMIT_ANSWER) };
  }, 60_000);

  it('the sidecar beside each PDF', async () => {
    const dir = await tempDir('contract-store');
    try {
      const store = new CertificateStore(dir.dir, { lmsHost: 'school.example' });
      const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
      const cert: Certificate = {
        userId: 101,
        orgUnitId: 6606,
        issuedId: 42,
        awardId: 7,
        title: 'Safety Training',
        issuedDate: '2026-05-13T20:01:00.827Z',
      };
      await store.save(cert, pdf, 'api');
      await store.save({ ...cert, issuedId: 43, orgUnitName: 'Safety' }, pdf, 'browser', {
        userRef: 'userName:jdoe',
      });
      const read = async (name: string) =>
        JSON.parse(await readFile(path.join(dir.dir, '101', name), 'utf8')) as Record<string, unknown>;
      const plain = await read('6606-42.json');
      const full = await read('6606-43.json');
      expect(plain.schemaVersion).toBe(SCHEMA_VERSION);
      expect(fieldsOf(plain)).toEqual(sorted(SIDECAR));
      expect(fieldsOf(full)).toEqual(sorted([...SIDECAR, ...SIDECAR_OPTIONAL]));
      seen.sidecar = { fields: fieldsOf(full), optional: SIDECAR_OPTIONAL };
    } finally {
      await dir.cleanup();
    }
  });

  it('docs/api.md lists every field of every shape, and no other, under its own heading', async () => {
    const doc = await readFile('docs/api.md', 'utf8');
    const sections: [keyof typeof seen, string, string[]][] = [
      ['batch', 'The batch', [...BATCH_API, ...BATCH_STATUS_OPTIONAL, 'workersOutOfService']],
      ['failure', 'A failure', FAILURE],
      ['manifestRow', 'A manifest row', MANIFEST_ROW],
      ['submit', 'The submit answer', SUBMIT_ANSWER],
      ['failuresPage', 'A failures page', FAILURES_PAGE],
      ['certificatesPage', 'A certificates page', CERTIFICATES_PAGE],
      ['cancel', 'The cancel answer', CANCEL_ANSWER],
      ['retry', 'The retry answer', RETRY_ANSWER],
      ['webhook', 'The webhook payload', WEBHOOK],
      ['sidecar', 'The sidecar', [...SIDECAR, ...SIDECAR_OPTIONAL]],
      ['event', 'The batch events entry', BATCH_EVENT],
    ];
    for (const [shape, heading, pinned] of sections) {
      // Every shape was read from the real code above (run this file whole).
      expect(seen[shape]?.fields, shape).toEqual(sorted(pinned));
      const start = doc.indexOf(`\n### ${heading}\n`);
      expect(start, `docs/api.md has no "### ${heading}"`).toBeGreaterThan(0);
      const end = doc.slice(start + 1).search(/\n##+ /);
      const section = doc.slice(start, end < 0 ? undefined : start + 1 + end);
      const documented = [...section.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]!);
      expect(documented.sort(), `the fields documented under "### ${heading}"`).toEqual(sorted(pinned));
    }
  });
});
