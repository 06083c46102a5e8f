import { afterAll, describe, expect, it, vi } from 'vitest';
import { certificatePaths, UnsafeIdError } from '../../src/storage/index.ts';
import { certificateKeys, parseS3Url, S3UrlInvalidError } from '../../src/storage/s3-location.ts';
import { S3CertificateStore } from '../../src/storage/s3-certificate-store.ts';

const ids = { userId: 101, orgUnitId: 6606, issuedId: 42 };

// The SDK warns, once per process, that its 2027 releases need Node 22: noise here.
vi.stubEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
afterAll(() => void vi.unstubAllEnvs());

describe('parseS3Url', () => {
  it.each([
    ['s3://certs', { bucket: 'certs', prefix: '' }],
    ['s3://certs/', { bucket: 'certs', prefix: '' }],
    ['s3://certs.example-1/harvest', { bucket: 'certs.example-1', prefix: 'harvest' }],
    ['s3://certs/a/b=2026/', { bucket: 'certs', prefix: 'a/b=2026' }],
  ])('reads %s', (url, location) => {
    expect(parseS3Url(url)).toEqual(location);
  });

  it.each([
    ['/srv/certificates', 'does not start with s3://'],
    ['https://certs.s3.amazonaws.com/x', 'does not start with s3://'],
    ['s3://certs/x?versionId=1', 'holds `?` or `#`'],
    ['s3://', 'is not a bucket name'],
    ['s3://Certs', 'is not a bucket name'],
    ['s3://ab', 'is not a bucket name'],
    ['s3://bad..name', 'is not a bucket name'],
    ['s3://192.168.0.1', 'is not a bucket name'],
    ['s3://certs//x', 'prefix segment ""'],
    ['s3://certs/a/../b', 'prefix segment ".."'],
    ['s3://certs/with space', 'prefix segment "with space"'],
    [`s3://certs/${'p'.repeat(257)}`, 'over 256 bytes'],
  ])('refuses %s: %s', (url, why) => {
    const error = (() => {
      try {
        return parseS3Url(url);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(S3UrlInvalidError);
    expect(error).toMatchObject({ code: 'OUTPUT_URL_INVALID', retryable: false, url });
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toContain('expected s3://<bucket>[/<prefix>]');
  });

  it('is what the store checks its url with', () => {
    expect(
      () => new S3CertificateStore({ url: 's3://Nope', lmsHost: 'h.example', region: 'us-east-1' }),
    ).toThrow(S3UrlInvalidError);
    expect(() => new S3CertificateStore({ url: 's3://certs', lmsHost: ' ', region: 'us-east-1' })).toThrow(
      /options.lmsHost must be the LMS host name/,
    );
    expect(() => new S3CertificateStore({ url: 's3://certs', lmsHost: 'a/b', region: 'us-east-1' })).toThrow(
      /options.lmsHost/,
    );
    expect(
      () =>
        new S3CertificateStore({ url: 's3://certs', lmsHost: 'h', endpoint: 'localhost:9000', region: 'x' }),
    ).toThrow(/options.endpoint must be an http\(s\) URL, got "localhost:9000"/);
  });
});

describe('certificateKeys', () => {
  it('is <prefix>/<lmsHost>/<userId>/<orgUnitId>-<issuedId>.pdf and .json', () => {
    expect(certificateKeys({ bucket: 'certs', prefix: 'harvest' }, 'school.example:8443', ids)).toEqual({
      dir: 'harvest/school.example:8443/101',
      pdf: 'harvest/school.example:8443/101/6606-42.pdf',
      sidecar: 'harvest/school.example:8443/101/6606-42.json',
      stem: '6606-42',
    });
    expect(certificateKeys({ bucket: 'certs', prefix: '' }, 'h', ids).pdf).toBe('h/101/6606-42.pdf');
  });

  it.each([['../etc'], ['A-b'], ['é'], ['_batches'], ['con']])(
    'names the id %j as the disk store does',
    (id) => {
      const hostile = { userId: id, orgUnitId: id, issuedId: 2 };
      const onDisk = certificatePaths('/out', hostile);
      const keys = certificateKeys({ bucket: 'certs', prefix: 'p' }, 'h', hostile);
      expect(keys.pdf).toBe(`p/h/${onDisk.pdf.slice('/out/'.length)}`);
    },
  );

  it('refuses ids that cannot name a file, as the disk store does', () => {
    for (const bad of ['', 0, 'x'.repeat(201), 'a\u0000b']) {
      expect(() => certificateKeys({ bucket: 'certs', prefix: '' }, 'h', { ...ids, orgUnitId: bad })).toThrow(
        UnsafeIdError,
      );
    }
  });

  it('gives the store its s3:// paths()', () => {
    const store = new S3CertificateStore({ url: 's3://certs/harvest', lmsHost: 'h', region: 'us-east-1' });
    expect(store.paths(ids)).toEqual({
      dir: 's3://certs/harvest/h/101',
      pdf: 's3://certs/harvest/h/101/6606-42.pdf',
      sidecar: 's3://certs/harvest/h/101/6606-42.json',
      stem: '6606-42',
    });
    store.close();
  });
});
