/**
 * What can go wrong between the store and its bucket, as typed errors with stable codes, decided
 * from the SDK's error in one place (`toObjectStoreError`), never from message text.
 */
import { CertharvestError, PermanentError, ServiceUnavailableError } from '../errors/index.ts';

/** Which bucket, through which endpoint, and the object when there is one: for every message. */
export interface ObjectStoreSite {
  bucket: string;
  /** The endpoint as configured, or `AWS S3 (<region or default region>)`. */
  endpoint: string;
  key?: string | undefined;
}

const siteText = (site: ObjectStoreSite): string =>
  site.key === undefined
    ? `bucket ${site.bucket} at ${site.endpoint}`
    : `s3://${site.bucket}/${site.key} at ${site.endpoint}`;

/** The endpoint did not answer (refused, unknown host, timed out) or answered 5xx. Try later. */
export class ObjectStoreUnreachableError extends ServiceUnavailableError {
  readonly site: ObjectStoreSite;

  constructor(site: ObjectStoreSite, detail: string, status?: number, options?: { cause?: unknown }) {
    super(
      'OUTPUT_S3_UNREACHABLE',
      `object storage did not answer for ${siteText(site)}: ${detail}`,
      status,
      options,
    );
    this.site = site;
  }
}

/** The credentials are missing, wrong or lack a permission: every write would fail alike. */
export class ObjectStoreAccessDeniedError extends PermanentError {
  readonly site: ObjectStoreSite;

  constructor(site: ObjectStoreSite, detail: string, options?: { cause?: unknown }) {
    super(
      'OUTPUT_S3_ACCESS_DENIED',
      `object storage refused access to ${siteText(site)}: ${detail}. The worker's credentials (the AWS ` +
        'default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role) need ' +
        's3:ListBucket on the bucket and s3:GetObject and s3:PutObject on its keys.',
      options,
    );
    this.site = site;
  }
}

/** The bucket does not exist (or not at this endpoint or region). */
export class ObjectStoreNoSuchBucketError extends PermanentError {
  readonly site: ObjectStoreSite;

  constructor(site: ObjectStoreSite, options?: { cause?: unknown }) {
    super(
      'OUTPUT_S3_NO_SUCH_BUCKET',
      `the bucket ${site.bucket} does not exist at ${site.endpoint}: create it, or fix the bucket, the endpoint or the region`,
      options,
    );
    this.site = { bucket: site.bucket, endpoint: site.endpoint };
  }
}

/** The endpoint does not implement conditional writes (If-None-Match / If-Match), which the store needs. */
export class ObjectStoreUnsupportedError extends PermanentError {
  readonly site: ObjectStoreSite;

  constructor(site: ObjectStoreSite, detail: string, options?: { cause?: unknown }) {
    super(
      'OUTPUT_S3_UNSUPPORTED',
      `object storage at ${site.endpoint} refused a conditional write to ${siteText(site)} (${detail}): ` +
        'certharvest needs PutObject with If-None-Match and If-Match, as AWS S3 has them',
      options,
    );
    this.site = site;
  }
}

/** Other writers kept replacing the object between this one's looks at it. Try later. */
export class ObjectStoreContendedError extends CertharvestError {
  readonly retryable = true;
  readonly site: ObjectStoreSite;

  constructor(site: ObjectStoreSite, rounds: number) {
    super('OUTPUT_S3_CONTENDED', `${siteText(site)} changed under each of ${rounds} conditional writes`);
    this.site = site;
  }
}

/** The SDK's view of a failed call: its error name (S3's error code) and HTTP status. */
export interface SdkFailure {
  name: string;
  status: number | undefined;
  /** A Node.js network error's code (`ECONNREFUSED`), when the request never got an answer. */
  errno: string | undefined;
}

export function sdkFailure(err: unknown): SdkFailure | undefined {
  if (!(err instanceof Error) || err instanceof CertharvestError) return undefined;
  const status = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  const code = (err as NodeJS.ErrnoException).code;
  return {
    name: err.name,
    status: typeof status === 'number' ? status : undefined,
    errno: typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code) ? code : undefined,
  };
}

const DENIED = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AccountProblem',
]);
const NO_ANSWER = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

/** The typed error for an SDK failure at `site`, or `err` itself when it is none of them. */
export function toObjectStoreError(err: unknown, site: ObjectStoreSite): unknown {
  const f = sdkFailure(err);
  if (!f) return err;
  const detail = `${f.name}${f.status === undefined ? '' : ` (HTTP ${f.status})`}: ${(err as Error).message}`;
  const options = { cause: err };
  if (f.name === 'CredentialsProviderError') {
    return new ObjectStoreAccessDeniedError(
      site,
      `no credentials were found (${(err as Error).message})`,
      options,
    );
  }
  if (DENIED.has(f.name) || f.status === 403) return new ObjectStoreAccessDeniedError(site, detail, options);
  if (f.name === 'NoSuchBucket') return new ObjectStoreNoSuchBucketError(site, options);
  if (f.name === 'NotImplemented' || f.status === 501)
    return new ObjectStoreUnsupportedError(site, detail, options);
  if ((f.status !== undefined && f.status >= 500) || f.name === 'SlowDown') {
    return new ObjectStoreUnreachableError(site, detail, f.status, options);
  }
  if (f.status === undefined && (f.errno !== undefined || NO_ANSWER.has(f.name))) {
    return new ObjectStoreUnreachableError(
      site,
      `${f.errno ?? f.name}: ${(err as Error).message}`,
      undefined,
      options,
    );
  }
  return err;
}
