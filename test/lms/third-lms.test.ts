/**
 * The seam: a third LMS is one folder (test/lms/third-lms/) plus one registry line, and the
 * product runs a batch against it — config, token, worker, discovery, download, storage — without
 * a line of the product naming it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { loadConfig } from '../../src/config/index.ts';
import { lmsRegistry } from '../../src/lms/registry.ts';
import { BatchTracker, connectRedis, openQueues, submitBatch } from '../../src/queue/index.ts';
import { encodeIdForFileName } from '../../src/storage/index.ts';
import { captureLogger, sleepUntil, tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { startFakeLms, type FakeLms } from './third-lms/fake-server.ts';
import { thirdLmsModule } from './third-lms/module.ts';

let fake: FakeLms;
beforeAll(async () => {
  lmsRegistry.register(thirdLmsModule); // the one registry line
  fake = await startFakeLms();
});
afterAll(async () => {
  lmsRegistry.unregister('third');
  await fake.close();
});

describe('a third LMS', () => {
  const envOf = (outputDir: string) => ({
    LMS: 'third',
    LMS_URL: fake.url,
    OAUTH_CLIENT_ID: fake.clientId,
    OAUTH_CLIENT_SECRET: fake.clientSecret,
    DOWNLOAD_STRATEGY: 'api',
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: uniquePrefix('third'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    OUTPUT_DIR: outputDir,
  });

  it("is configured through its module: its own variable, its token defaults, its problems' words", async () => {
    const out = await tempDir();
    try {
      const config = loadConfig({ env: envOf(out.dir), envFile: false, needs: ['lms'] });
      expect(config.lms.kind).toBe('third');
      expect(config.lms.auth).toMatchObject({
        kind: 'client-secret',
        tokenUrl: `${fake.url}/oauth/token`,
        scope: 'awards',
        secretEncoding: 'raw',
      });
      expect(config.lms.site.summary).toEqual({ THIRD_PAGE_SIZE: '50' });
      expect(config.webSession.profile.loginPath).toBe('/login');
      expect(() =>
        loadConfig({ env: { ...envOf(out.dir), THIRD_PAGE_SIZE: 'many' }, envFile: false }),
      ).toThrow(/THIRD_PAGE_SIZE: expected a whole number/);
      expect(() => loadConfig({ env: { ...envOf(out.dir), LMS: 'fourth' }, envFile: false })).toThrow(
        /LMS: expected "brightspace", "blackboard" or "third" \(got "fourth"\)/,
      );
    } finally {
      await out.cleanup();
    }
  });

  it('runs a batch: every certificate stored whole, under its string ids', async () => {
    const out = await tempDir();
    const config = loadConfig({ env: envOf(out.dir), envFile: false, needs: ['lms', 'secrets-key'] });
    const redis = await connectRedis(config.redisUrl);
    const queues = openQueues(redis, config.queuePrefix);
    const { logger } = captureLogger('warn');
    let worker: WorkerHandle | undefined;
    try {
      worker = await startWorker({ config, logger, redis });
      const { batchId } = await submitBatch(
        { users: ['p-ada', 'p-bob', 'p-cy', 'p-nobody'] },
        { queues, redis, prefix: config.queuePrefix },
      );
      const tracker = new BatchTracker(redis, config.queuePrefix);
      const status = await sleepUntil(async () => {
        const s = await tracker.status(batchId, 100);
        return s?.done ? s : undefined;
      }, 30_000);
      expect(status).toMatchObject({ certsFound: 3, certsStored: 3, certsFailed: 0, usersFailed: 1 });
      expect(status.failures).toEqual([
        expect.objectContaining({
          kind: 'user',
          code: 'LMS_USER_NOT_FOUND',
          ref: expect.stringContaining('p-nobody'),
        }),
      ]);
      for (const [person, awards] of fake.people) {
        for (const award of awards) {
          const stem = `${encodeIdForFileName(award.course)}-${encodeIdForFileName(award.id)}`;
          const dir = path.join(out.dir, encodeIdForFileName(person));
          const pdf = await readFile(path.join(dir, `${stem}.pdf`));
          expect(Buffer.compare(pdf, Buffer.from(fake.pdfOf(award.id)))).toBe(0);
          const sidecar = JSON.parse(await readFile(path.join(dir, `${stem}.json`), 'utf8')) as Record<
            string,
            unknown
          >;
          expect(sidecar).toMatchObject({
            userId: person,
            orgUnitId: award.course,
            issuedId: award.id,
            source: 'api',
          });
        }
      }
    } finally {
      await worker?.stop(5_000);
      await queues.close();
      await redis.quit();
      await out.cleanup();
    }
  });
});
