import { createReadStream } from 'node:fs';
import { readFile, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type {
  Certificate,
  CertificateIds,
  CertificateOnDisk,
  CertificateSource,
} from '../certificate/index.ts';
import { PARTIAL_DIR, partialShard, writeTempFile } from './atomic-write.ts';
import type { CertificatePaths } from './certificate-path.ts';
import type { CertificateStorePort } from './certificate-store-port.ts';
import { sha256Hex, type CommitOptions, type SaveOutcome } from './certificate-store.ts';
import { toOutputError } from './errors.ts';
import { IncomingPdf } from './incoming-pdf.ts';
import { sweepPartials } from './partial-sweep.ts';
import { ObjectStoreContendedError, ObjectStoreUnsupportedError } from './s3-errors.ts';
import {
  certificateKeys,
  checkHostSegment,
  hostFolder,
  parseS3Url,
  PROBE_NAME,
  s3Url,
  type S3Location,
} from './s3-location.ts';
import { BucketObjects, type ObjectFacts, type PutRequest, type WriteCondition } from './s3-objects.ts';
import { formatSidecar } from './sidecar.ts';
import { defaultSpoolDir, SPOOL_FILE_MODE, SpoolFolders } from './spool.ts';
import { storedCertificate } from './stored-certificate.ts';

export interface S3CertificateStoreOptions {
  /** `s3://<bucket>[/<prefix>]`: certificates go to `<prefix>/<lmsHost>/<userId>/<orgUnitId>-<issuedId>.pdf`. */
  url: string;
  /** The LMS host the certificates come from: a folder of the key, and the `lms-host` metadata. */
  lmsHost: string;
  /** An S3-compatible endpoint (MinIO, Ceph, moto), e.g. `http://127.0.0.1:9000`. Default: AWS S3. */
  endpoint?: string;
  /** Address buckets as `<endpoint>/<bucket>` (most S3-compatible servers need it). Default false. */
  forcePathStyle?: boolean;
  /** Default: the SDK's (AWS_REGION, the profile's region). */
  region?: string;
  /**
   * A client to use instead of making one (endpoint, region and path style are then the client's;
   * `endpoint` only names it in messages). `close()` leaves it open. Default: one made with the
   * AWS SDK's default credential chain.
   */
  client?: S3Client;
  /** The local folder downloads stream into before the upload. Default `<tmpdir>/certharvest-spool-<uid>`. */
  spoolDir?: string;
}

/** Conditional writes lost in a row before giving up (`ObjectStoreContendedError`, retried later). */
const MAX_WRITE_ROUNDS = 3;
/** Bodies up to this size are uploaded from memory (the SDK can resend them); bigger ones stream. */
const IN_MEMORY_UPLOAD_BYTES = 16 * 1024 * 1024;
const PROBE_BODY = Buffer.from('certharvest checks it can write here\n');
const SHA256_HEX = /^[0-9a-f]{64}$/;
const NEVER_AN_ETAG = '"certharvest-probe-never-an-etag"';

/**
 * Certificates in object storage: each PDF is one PutObject of the whole body, so a reader sees a
 * whole certificate or none, whatever happens to the writer. The write is conditional: If-None-Match
 * `*` when nothing is known to be there, If-Match the ETag seen when replacing different bytes; a
 * lost condition is looked at again, so two workers storing the same certificate never overwrite
 * each other's object ('stored' for one, 'already-stored' for the other). S3 checks the body against
 * the SHA-256 the sink computed (`x-amz-checksum-sha256`), and the object carries it as metadata,
 * which is what `existing()` reads: one HEAD, no index. The `.json` sidecar is written after the
 * PDF, for consumers; nothing here reads it back.
 */
export class S3CertificateStore implements CertificateStorePort {
  readonly url: string;
  readonly location: S3Location;
  readonly lmsHost: string;
  readonly spoolDir: string;
  readonly #objects: BucketObjects;
  readonly #ownsClient: boolean;
  readonly #spool: SpoolFolders;

  constructor(options: S3CertificateStoreOptions) {
    if (typeof options?.lmsHost !== 'string' || options.lmsHost.trim() === '') {
      throw new TypeError(
        `S3CertificateStore: options.lmsHost must be the LMS host name, got ${JSON.stringify(options?.lmsHost)}`,
      );
    }
    this.location = parseS3Url(options.url);
    const { bucket, prefix } = this.location;
    this.url = prefix === '' ? `s3://${bucket}` : s3Url(bucket, prefix);
    this.lmsHost = checkHostSegment(options.lmsHost);
    this.spoolDir = path.resolve(options.spoolDir ?? defaultSpoolDir());
    this.#spool = new SpoolFolders(this.spoolDir);
    this.#ownsClient = options.client === undefined;
    const client = options.client ?? makeClient(options);
    this.#objects = new BucketObjects(client, bucket, endpointLabel(options));
  }

  /** The object keys of a certificate's PDF and sidecar (`UnsafeIdError` for an id that cannot name one). */
  keys(ids: CertificateIds): CertificatePaths {
    return certificateKeys(this.location, this.lmsHost, ids);
  }

  /** Where the certificate goes, as `s3://` URLs. */
  paths(ids: CertificateIds): CertificatePaths {
    const keys = this.keys(ids);
    const at = (key: string) => s3Url(this.location.bucket, key);
    return { dir: at(keys.dir), pdf: at(keys.pdf), sidecar: at(keys.sidecar), stem: keys.stem };
  }

  /** The PDF object when it is whole and from this LMS host (its metadata says so), else null. One HEAD. */
  async existing(ids: CertificateIds): Promise<CertificateOnDisk | null> {
    const key = this.keys(ids).pdf;
    const facts = await this.#objects.head(key);
    const stored = facts && this.#storedFacts(facts);
    return stored ? { path: s3Url(this.location.bucket, key), ...stored } : null;
  }

  /** A sink in the local spool folder: memory for the first MiB, then a temp file. */
  receive(ids: CertificateIds): IncomingPdf {
    const dir = path.join(this.spoolDir, PARTIAL_DIR, partialShard(ids.userId));
    return new IncomingPdf(dir, this.#spool, SPOOL_FILE_MODE);
  }

  async save(
    cert: Certificate,
    pdf: Uint8Array,
    source: CertificateSource,
    extra?: CommitOptions,
    now?: Date,
  ): Promise<SaveOutcome> {
    const incoming = this.receive(cert);
    try {
      await incoming.write(pdf);
      return await this.commit(cert, incoming, source, extra, now);
    } finally {
      await incoming.discard();
    }
  }

  /**
   * Upload a received (validated) PDF, then its sidecar: see the class comment. Throws the typed
   * errors of s3-errors.ts, and `ObjectStoreContendedError` when the object kept changing.
   */
  async commit(
    cert: Certificate,
    incoming: IncomingPdf,
    source: CertificateSource,
    extra: CommitOptions = {},
    now = new Date(),
  ): Promise<SaveOutcome> {
    const keys = this.keys(cert);
    const sha256 = incoming.sha256();
    const bytes = incoming.length;
    const found = { path: s3Url(this.location.bucket, keys.pdf), sha256, bytes };
    let seen = extra.knownAbsent ? null : await this.#objects.head(keys.pdf);
    if (seen && this.#holds(seen, sha256, bytes)) return { status: 'already-stored', ...found };

    const file = await this.#settle(incoming);
    try {
      const metadata = { sha256, bytes: String(bytes), source, 'lms-host': this.lmsHost };
      const pdf = { key: keys.pdf, bytes, sha256, contentType: 'application/pdf', metadata };
      for (let round = 1; ; round++) {
        const condition = seen ? { ifMatch: seen.etag } : ({ ifNoneMatch: '*' } as const);
        if (await putFile(this.#objects, pdf, file, condition)) break;
        if (round === MAX_WRITE_ROUNDS)
          throw new ObjectStoreContendedError(this.#objects.site(keys.pdf), round);
        seen = await this.#objects.head(keys.pdf);
        if (seen && this.#holds(seen, sha256, bytes)) return { status: 'already-stored', ...found };
      }
    } finally {
      await rm(file, { force: true });
    }
    const facts = { sha256, bytes, source, lmsHost: this.lmsHost, now, userRef: extra.userRef };
    const sidecar = Buffer.from(formatSidecar(storedCertificate(cert, facts)));
    const json = { key: keys.sidecar, bytes: sidecar.byteLength, sha256: sha256Hex(sidecar) };
    await this.#objects.put({ ...json, body: sidecar, contentType: 'application/json' });
    return { status: 'stored', source, ...found };
  }

  /** Delete spool files of workers that died mid-download (on this host); how many. */
  async sweepPartials(): Promise<number> {
    try {
      return await sweepPartials(this.spoolDir);
    } catch (err) {
      throw toOutputError(err, this.spoolDir, path.join(this.spoolDir, PARTIAL_DIR));
    }
  }

  /**
   * The bucket is there and takes objects (HeadBucket, then a small PutObject of
   * `<prefix>/<lmsHost>/.certharvest-probe`, overwritten each time, so no delete permission is
   * needed), the endpoint refuses conditional writes whose condition is false, and the spool
   * folder takes files. Throws the typed error of what failed.
   */
  async checkWritable(): Promise<void> {
    await this.#objects.checkBucket();
    const key = `${hostFolder(this.location, this.lmsHost)}/${PROBE_NAME}`;
    const probe = { key, body: PROBE_BODY, bytes: PROBE_BODY.byteLength, sha256: sha256Hex(PROBE_BODY) };
    await this.#objects.put({ ...probe, contentType: 'text/plain' });
    // An endpoint that ignored the conditions would let two workers overwrite each other: both
    // kinds of conditional write over the probe just written must be refused.
    for (const condition of [{ ifNoneMatch: '*' } as const, { ifMatch: NEVER_AN_ETAG }]) {
      if (await this.#objects.put({ ...probe, contentType: 'text/plain' }, condition)) {
        const header =
          'ifMatch' in condition ? 'If-Match on a wrong ETag' : 'If-None-Match * on an existing key';
        throw new ObjectStoreUnsupportedError(this.#objects.site(key), `it took a PutObject with ${header}`);
      }
    }
    const dir = path.join(this.spoolDir, PARTIAL_DIR);
    try {
      this.#spool.forget();
      await this.#spool.ensure(dir);
      await unlink(await writeTempFile(dir, PROBE_BODY, { sync: false, mode: SPOOL_FILE_MODE }));
    } catch (err) {
      throw toOutputError(err, this.spoolDir, dir);
    }
  }

  /** Release the client's connections, when the store made it. */
  close(): void {
    if (this.#ownsClient) this.#objects.client.destroy();
  }

  /** The sha256 and size the object's metadata vouches for, when it is whole and this host's. */
  #storedFacts(facts: ObjectFacts): { sha256: string; bytes: number } | null {
    const { sha256, bytes, 'lms-host': host } = facts.metadata;
    if (host !== this.lmsHost || sha256 === undefined || !SHA256_HEX.test(sha256)) return null;
    return bytes === String(facts.size) ? { sha256, bytes: facts.size } : null;
  }

  #holds(facts: ObjectFacts, sha256: string, bytes: number): boolean {
    const stored = this.#storedFacts(facts);
    return stored?.sha256 === sha256 && stored.bytes === bytes;
  }

  async #settle(incoming: IncomingPdf): Promise<string> {
    try {
      return await incoming.settle();
    } catch (err) {
      throw toOutputError(err, this.spoolDir, incoming.dir);
    }
  }
}

/**
 * One PutObject of a spooled file: read whole when small (the SDK can then resend it on a retry),
 * streamed when big, a fresh read each time and closed after, whatever the answer.
 */
async function putFile(
  objects: BucketObjects,
  request: Omit<PutRequest, 'body'>,
  file: string,
  condition: WriteCondition,
): Promise<boolean> {
  if (request.bytes <= IN_MEMORY_UPLOAD_BYTES)
    return objects.put({ ...request, body: await readFile(file) }, condition);
  const stream = createReadStream(file);
  try {
    return await objects.put({ ...request, body: stream }, condition);
  } finally {
    stream.destroy();
  }
}

function makeClient(options: S3CertificateStoreOptions): S3Client {
  if (options.endpoint !== undefined && !/^https?:\/\/[^/]/.test(options.endpoint)) {
    throw new TypeError(
      `S3CertificateStore: options.endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`,
    );
  }
  return new S3Client({
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? false,
    // Every request has a deadline: no answer within these reads as an unreachable endpoint.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}

function endpointLabel(options: S3CertificateStoreOptions): string {
  if (options.endpoint !== undefined) return options.endpoint;
  if (options.client !== undefined) return 'the S3 client given';
  return `AWS S3 (${options.region ?? 'the default region'})`;
}
