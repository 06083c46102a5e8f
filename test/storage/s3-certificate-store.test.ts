/**
 * S3CertificateStore against a real S3 implementation, moto_server (test/helpers/moto-server.ts).
 * moto 5 honours If-None-Match: * and If-Match on PutObject (412 when they do not hold) but does not
 * verify x-amz-checksum-sha256: the tests check the header is sent, and hash what they read back.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import {
  S3CertificateStore,
  type S3CertificateStoreOptions,
} from '../../src/storage/s3-certificate-store.ts';
import {
  ObjectStoreContendedError,
  ObjectStoreNoSuchBucketError,
  ObjectStoreUnsupportedError,
  sha256Hex,
} from '../../src/storage/index.ts';
import { assertWholePdf } from '../../src/pdf/index.ts';
import { partialFiles, tempDir } from '../helpers/index.ts';
import {
  findMotoServer,
  MOTO_MISSING,
  recordRequests,
  startMotoServer,
  type MotoServer,
} from '../helpers/moto-server.ts';
import { killMidUpload } from '../helpers/s3-killed-upload.ts';

const cert: Certificate = {
  userId: 101,
  orgUnitId: 6606,
  issuedId: 42,
  awardId: 7,
  title: 'Safety Training',
  issuedDate: '2026-05-13T20:01:00.827Z',
};
const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
const otherPdf = Buffer.from('%PDF-1.7\n% a different rendering\ntrailer\n<<>>\n%%EOF\n');
const lmsHost = 'school.example';
const pdfKey = `harvest/${lmsHost}/101/6606-42.pdf`;
const base64Sha256 = (bytes: Uint8Array) => Buffer.from(sha256Hex(bytes), 'hex').toString('base64');

const moto = findMotoServer();
if (!moto) console.warn(MOTO_MISSING);

describe.skipIf(!moto)(
  moto ? 'S3CertificateStore (moto_server)' : `S3CertificateStore: skipped, ${MOTO_MISSING}`,
  () => {
    let server: MotoServer;
    let admin: S3Client;
    let bucket: string;
    let spool: Awaited<ReturnType<typeof tempDir>>;
    const opened: { close(): void }[] = [];

    beforeAll(async () => {
      // The SDK warns once per process that its 2027 releases need Node 22: noise here.
      vi.stubEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
      server = await startMotoServer(moto);
      admin = server.client();
    });
    afterAll(async () => {
      admin?.destroy();
      await server?.stop();
      vi.unstubAllEnvs();
    });
    beforeEach(async () => {
      bucket = await server.bucket();
      spool = await tempDir('spool');
    });
    afterEach(async () => {
      for (const o of opened.splice(0)) o.close();
      await spool.cleanup();
    });

    /** A client of its own (another worker), tracked to be closed. */
    const client = (): S3Client => {
      const c = server.client();
      opened.push({ close: () => c.destroy() });
      return c;
    };
    const storeWith = (c: S3Client, options: Partial<S3CertificateStoreOptions> = {}) =>
      new S3CertificateStore({
        url: `s3://${bucket}/harvest`,
        lmsHost,
        client: c,
        endpoint: server.endpoint,
        spoolDir: spool.dir,
        ...options,
      });
    const read = async (key = pdfKey) => {
      const answer = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    };
    const head = (key = pdfKey) => admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

    it('stores a PDF as one conditional PutObject with its checksum and metadata, then the sidecar', async () => {
      const c = client();
      const sent = recordRequests(c);
      const result = await storeWith(c).save(
        cert,
        pdf,
        'browser',
        { userRef: 'userName:jdoe' },
        new Date('2026-11-23T10:00:00Z'),
      );

      expect(result).toEqual({
        status: 'stored',
        source: 'browser',
        path: `s3://${bucket}/${pdfKey}`,
        sha256: sha256Hex(pdf),
        bytes: pdf.length,
      });
      expect(sha256Hex(await read())).toBe(sha256Hex(pdf));
      const object = await head();
      expect(object.ContentType).toBe('application/pdf');
      expect(object.Metadata).toEqual({
        sha256: sha256Hex(pdf),
        bytes: String(pdf.length),
        source: 'browser',
        'lms-host': lmsHost,
      });
      expect(JSON.parse((await read(pdfKey.replace(/pdf$/, 'json'))).toString())).toEqual({
        schemaVersion: 1,
        ...cert,
        sha256: sha256Hex(pdf),
        bytes: pdf.length,
        source: 'browser',
        downloadedAt: '2026-11-23T10:00:00.000Z',
        lmsHost,
        userRef: 'userName:jdoe',
      });
      // moto does not check the checksum: the header must be the sink's sha256 for S3 to.
      expect(sent.map((r) => `${r.method} ${r.key}`)).toEqual([
        `HEAD ${pdfKey}`,
        `PUT ${pdfKey}`,
        `PUT ${pdfKey.replace(/pdf$/, 'json')}`,
      ]);
      expect(sent[1]!.headers).toMatchObject({
        'if-none-match': '*',
        'x-amz-checksum-sha256': base64Sha256(pdf),
      });
    });

    it("the download path's steps: receive, stream past the in-memory part, assertWholePdf, commit, discard", async () => {
      const big = Buffer.concat([
        Buffer.from('%PDF-1.7\n'),
        randomBytes(3 * 1024 * 1024),
        Buffer.from('\n%%EOF\n'),
      ]);
      const store = storeWith(client());
      const incoming = store.receive(cert);
      try {
        for (let at = 0; at < big.length; at += 64 * 1024)
          await incoming.write(big.subarray(at, at + 64 * 1024));
        assertWholePdf(incoming.evidence, { contentType: 'application/pdf', contentLength: big.length });
        const saved = await store.commit(cert, incoming, 'api', { knownAbsent: true });
        expect(saved).toMatchObject({ status: 'stored', sha256: sha256Hex(big), bytes: big.length });
      } finally {
        await incoming.discard();
      }
      expect(sha256Hex(await read())).toBe(sha256Hex(big));
      expect(await partialFiles(spool.dir)).toEqual([]);
    });

    it('existing(): null, then the object; another store with its own client sees it too', async () => {
      const first = storeWith(client());
      expect(await first.existing(cert)).toBeNull();
      await first.save(cert, pdf, 'api');
      const found = { path: `s3://${bucket}/${pdfKey}`, sha256: sha256Hex(pdf), bytes: pdf.length };
      expect(await first.existing(cert)).toEqual(found);
      expect(await storeWith(client()).existing(cert)).toEqual(found);
      expect(await storeWith(client(), { lmsHost: 'other.example' }).existing(cert)).toBeNull();
    });

    it('the same bytes again: already-stored after one HEAD, nothing written', async () => {
      const store = storeWith(client());
      await store.save(cert, pdf, 'api');
      const c = client();
      const sent = recordRequests(c);
      expect(await storeWith(c).save(cert, pdf, 'browser')).toEqual({
        status: 'already-stored',
        path: `s3://${bucket}/${pdfKey}`,
        sha256: sha256Hex(pdf),
        bytes: pdf.length,
      });
      expect(sent.map((r) => r.method)).toEqual(['HEAD']);
      expect((await head()).Metadata?.source).toBe('api');
    });

    it('two workers racing on one certificate: one stored, one already-stored, the object is never overwritten', async () => {
      for (let i = 0; i < 6; i++) {
        const one = { ...cert, issuedId: 1000 + i };
        const [a, b] = [storeWith(client()), storeWith(client())];
        // Both found it absent (discovery), so both write at once: the condition decides.
        const results = await Promise.all([
          a.save(one, pdf, 'api', { knownAbsent: true }),
          b.save(one, pdf, 'browser', { knownAbsent: true }),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual(['already-stored', 'stored']);
        const winner = results.find((r) => r.status === 'stored')!;
        const key = `harvest/${lmsHost}/101/6606-${1000 + i}.pdf`;
        // The loser's PUT was refused: the metadata (and the sidecar) are the winner's alone.
        expect((await head(key)).Metadata?.source).toBe(winner.status === 'stored' && winner.source);
        expect(JSON.parse((await read(key.replace(/pdf$/, 'json'))).toString()).source).toBe(
          winner.status === 'stored' && winner.source,
        );
        expect(await read(key)).toEqual(pdf);
      }
    });

    it('refresh: different bytes replace the object through If-Match on the ETag it saw', async () => {
      await storeWith(client()).save(cert, pdf, 'api');
      const { ETag } = await head();
      const c = client();
      const sent = recordRequests(c);
      const result = await storeWith(c).save(cert, otherPdf, 'browser');

      expect(result).toMatchObject({ status: 'stored', sha256: sha256Hex(otherPdf), bytes: otherPdf.length });
      expect(sent.filter((r) => r.key === pdfKey).map((r) => [r.method, r.headers['if-match']])).toEqual([
        ['HEAD', undefined],
        ['PUT', ETag],
      ]);
      expect(await read()).toEqual(otherPdf);
      expect(await storeWith(client()).existing(cert)).toMatchObject({ sha256: sha256Hex(otherPdf) });
    });

    it('a writer that thought it absent: If-None-Match is refused (412), it looks, then replaces with If-Match', async () => {
      await storeWith(client()).save(cert, pdf, 'api');
      const c = client();
      const sent = recordRequests(c);
      const result = await storeWith(c).save(cert, otherPdf, 'browser', { knownAbsent: true });

      expect(result.status).toBe('stored');
      expect(sent.filter((r) => r.key === pdfKey).map((r) => r.method)).toEqual(['PUT', 'HEAD', 'PUT']);
      expect(sent[0]!.headers['if-none-match']).toBe('*');
      expect(sent[2]!.headers['if-match']).toMatch(/^"[0-9a-f]+"$/);
      expect(await read()).toEqual(otherPdf);
    });

    it.each([
      ['without metadata (another tool wrote it)', undefined],
      [
        'cut short (its metadata vouches for more bytes)',
        { sha256: sha256Hex(pdf), bytes: String(pdf.length), source: 'api', 'lms-host': lmsHost },
      ],
    ])('an object %s reads as absent, and is replaced by the whole PDF', async (_what, metadata) => {
      await admin.send(
        new PutObjectCommand({ Bucket: bucket, Key: pdfKey, Body: pdf.subarray(0, 10), Metadata: metadata }),
      );
      const store = storeWith(client());
      expect(await store.existing(cert)).toBeNull();
      expect((await store.save(cert, pdf, 'api')).status).toBe('stored');
      expect(await read()).toEqual(pdf);
    });

    it('replaces an object that changed once under it; gives up after 3 rounds when it keeps changing', async () => {
      await storeWith(client()).save(cert, pdf, 'api');
      let interferences = 0;
      const interfere =
        (limit: number) => async (r: { method: string; key: string; headers: Record<string, string> }) => {
          if (r.method !== 'PUT' || r.key !== pdfKey || !r.headers['if-match'] || interferences >= limit)
            return;
          interferences++;
          await admin.send(new PutObjectCommand({ Bucket: bucket, Key: pdfKey, Body: randomBytes(64) }));
        };

      const once = client();
      recordRequests(once, interfere(1));
      expect((await storeWith(once).save(cert, otherPdf, 'api')).status).toBe('stored');
      expect(await read()).toEqual(otherPdf);

      interferences = 0;
      const always = client();
      recordRequests(always, interfere(Infinity));
      const error = await storeWith(always)
        .save(cert, pdf, 'api')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectStoreContendedError);
      expect(error).toMatchObject({ code: 'OUTPUT_S3_CONTENDED', retryable: true });
      expect(interferences).toBe(3);
      expect(sha256Hex(await read())).not.toBe(sha256Hex(pdf));
    });

    it('a worker killed mid-upload leaves the object absent or whole; the next start sweeps its spool file', async () => {
      const killed = await killMidUpload({ endpoint: server.endpoint, bucket, spoolDir: spool.dir });

      expect(killed.signal).toBe('SIGKILL');
      expect(killed.printed).not.toContain('done');
      const key = `harvest/${lmsHost}/101/6606-9.pdf`;
      const object = await head(key).catch((e: { $metadata?: { httpStatusCode?: number } }) => {
        if (e.$metadata?.httpStatusCode === 404) return null;
        throw e;
      });
      if (object !== null) {
        // Whole, or nothing: never a part of the body.
        expect(object.ContentLength).toBe(killed.bytes);
        expect(sha256Hex(await read(key))).toBe(killed.sha256);
      }
      // What moto does (as S3 does): an upload cut short leaves no object at all.
      expect(object).toBeNull();
      expect(await storeWith(client()).existing({ ...cert, issuedId: 9 })).toBeNull();
      expect(await storeWith(client()).sweepPartials()).toBe(1);
    }, 60_000);

    it('checkWritable() passes, writing only its probe beside the user folders', async () => {
      await storeWith(client()).checkWritable();
      expect((await head(`harvest/${lmsHost}/.certharvest-probe`)).ContentLength).toBeGreaterThan(0);
    });

    it('checkWritable() refuses an endpoint that ignores conditional writes (OUTPUT_S3_UNSUPPORTED)', async () => {
      const c = client();
      // Such an endpoint, imitated: the condition headers never reach moto.
      c.middlewareStack.add(
        (next) => async (args) => {
          const headers = (args.request as { headers: Record<string, string> }).headers;
          delete headers['if-match'];
          delete headers['if-none-match'];
          return next(args);
        },
        { step: 'finalizeRequest', name: 'dropConditions' },
      );
      const error = await storeWith(c)
        .checkWritable()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectStoreUnsupportedError);
      expect(error).toMatchObject({ code: 'OUTPUT_S3_UNSUPPORTED', retryable: false });
      expect((error as Error).message).toContain(
        'it took a PutObject with If-None-Match * on an existing key',
      );
    });

    it('a missing bucket: checkWritable() and save() name it and the endpoint; existing() reads null', async () => {
      const store = storeWith(client(), { url: 's3://no-such-bucket-here/harvest' });
      // One at a time: a second promise made up front could reject before anything awaits it.
      for (const attempt of [() => store.checkWritable(), () => store.save(cert, pdf, 'api')]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ObjectStoreNoSuchBucketError);
        expect(error).toMatchObject({ code: 'OUTPUT_S3_NO_SUCH_BUCKET', retryable: false });
        expect((error as Error).message).toContain(
          `no-such-bucket-here does not exist at ${server.endpoint}`,
        );
      }
      expect(await store.existing(cert)).toBeNull();
    });

    it('makes its own client from endpoint, region and path style, with credentials from the default chain', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'from-env');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'from-env');
      const store = new S3CertificateStore({
        url: `s3://${bucket}/harvest/`,
        lmsHost,
        endpoint: server.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        spoolDir: spool.dir,
      });
      opened.push(store);
      expect(store.url).toBe(`s3://${bucket}/harvest`);
      await store.checkWritable();
      expect((await store.save(cert, pdf, 'api')).status).toBe('stored');
      expect(await store.existing(cert)).toMatchObject({ sha256: sha256Hex(pdf) });
    });
  },
);
