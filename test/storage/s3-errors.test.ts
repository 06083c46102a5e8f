import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ObjectStoreAccessDeniedError,
  ObjectStoreNoSuchBucketError,
  ObjectStoreUnreachableError,
  ObjectStoreUnsupportedError,
} from '../../src/storage/index.ts';
import { toObjectStoreError } from '../../src/storage/s3-errors.ts';
import { S3CertificateStore } from '../../src/storage/s3-certificate-store.ts';
import { getFreePort } from '../../src/util/free-port.ts';
import { tempDir } from '../helpers/index.ts';

const site = { bucket: 'certs', endpoint: 'http://127.0.0.1:9000', key: 'harvest/h/1/2-3.pdf' };
const sdkError = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} said`,
  });
const network = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code });

// The SDK warns, once per process, that its 2027 releases need Node 22: noise here.
vi.stubEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
afterAll(() => void vi.unstubAllEnvs());

describe('toObjectStoreError', () => {
  it.each([
    [sdkError('AccessDenied', 403), ObjectStoreAccessDeniedError, 'OUTPUT_S3_ACCESS_DENIED', false],
    [sdkError('InvalidAccessKeyId', 403), ObjectStoreAccessDeniedError, 'OUTPUT_S3_ACCESS_DENIED', false],
    [sdkError('SignatureDoesNotMatch', 403), ObjectStoreAccessDeniedError, 'OUTPUT_S3_ACCESS_DENIED', false],
    [sdkError('Forbidden', 403), ObjectStoreAccessDeniedError, 'OUTPUT_S3_ACCESS_DENIED', false],
    [sdkError('NoSuchBucket', 404), ObjectStoreNoSuchBucketError, 'OUTPUT_S3_NO_SUCH_BUCKET', false],
    [sdkError('NotImplemented', 501), ObjectStoreUnsupportedError, 'OUTPUT_S3_UNSUPPORTED', false],
    [sdkError('InternalError', 500), ObjectStoreUnreachableError, 'OUTPUT_S3_UNREACHABLE', true],
    [sdkError('SlowDown', 503), ObjectStoreUnreachableError, 'OUTPUT_S3_UNREACHABLE', true],
    [network('ECONNREFUSED'), ObjectStoreUnreachableError, 'OUTPUT_S3_UNREACHABLE', true],
    [network('ENOTFOUND'), ObjectStoreUnreachableError, 'OUTPUT_S3_UNREACHABLE', true],
    [
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      ObjectStoreUnreachableError,
      'OUTPUT_S3_UNREACHABLE',
      true,
    ],
  ])('%s → %s', (err, type, code, retryable) => {
    const mapped = toObjectStoreError(err, site);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped).toMatchObject({ code, retryable, cause: err });
  });

  it('names the object (or the bucket) and the endpoint in the message', () => {
    expect((toObjectStoreError(sdkError('AccessDenied', 403), site) as Error).message).toMatch(
      /^object storage refused access to s3:\/\/certs\/harvest\/h\/1\/2-3\.pdf at http:\/\/127\.0\.0\.1:9000: AccessDenied \(HTTP 403\)/,
    );
    expect((toObjectStoreError(sdkError('NoSuchBucket', 404), site) as Error).message).toBe(
      'the bucket certs does not exist at http://127.0.0.1:9000: create it, or fix the bucket, the endpoint or the region',
    );
  });

  it('lets anything else through as it is', () => {
    for (const err of [sdkError('InvalidRequest', 400), new TypeError('a bug'), 'text']) {
      expect(toObjectStoreError(err, site)).toBe(err);
    }
  });
});

describe('S3CertificateStore meeting no object storage', () => {
  let spool: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => void (spool = await tempDir('spool')));
  afterAll(() => spool.cleanup());

  it('an endpoint nobody listens on: OUTPUT_S3_UNREACHABLE naming it, from checkWritable() and existing()', async () => {
    const endpoint = `http://127.0.0.1:${await getFreePort()}`;
    const store = new S3CertificateStore({
      url: 's3://certs/harvest',
      lmsHost: 'h',
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      spoolDir: spool.dir,
    });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'x');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'y');
    // One at a time: a second promise made up front could reject before anything awaits it.
    for (const attempt of [
      () => store.checkWritable(),
      () => store.existing({ userId: 1, orgUnitId: 2, issuedId: 3 }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectStoreUnreachableError);
      expect(error).toMatchObject({ code: 'OUTPUT_S3_UNREACHABLE', retryable: true, status: undefined });
      expect((error as Error).message).toContain(`at ${endpoint}: ECONNREFUSED`);
    }
    store.close();
  });

  it('no credentials anywhere in the default chain: OUTPUT_S3_ACCESS_DENIED that says so', async () => {
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', `${spool.dir}/none`);
    vi.stubEnv('AWS_CONFIG_FILE', `${spool.dir}/none`);
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    const store = new S3CertificateStore({
      url: 's3://certs',
      lmsHost: 'h',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      spoolDir: spool.dir,
    });
    const error = await store.checkWritable().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectStoreAccessDeniedError);
    expect((error as Error).message).toContain(
      'bucket certs at http://127.0.0.1:9: no credentials were found',
    );
    store.close();
  });
});
