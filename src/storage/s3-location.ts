import path from 'node:path';
import type { CertificateIds } from '../certificate/index.ts';
import { CertharvestError } from '../errors/index.ts';
import { certificatePaths, type CertificatePaths } from './certificate-path.ts';

/** Where in object storage certificates go: a bucket and a key prefix (`''` for the bucket's top). */
export interface S3Location {
  bucket: string;
  /** Folder-like key prefix without leading or trailing `/` (`harvest/2026`), or `''`. */
  prefix: string;
}

/** An output URL that does not name a bucket (and prefix) certharvest can write to. Never retried. */
export class S3UrlInvalidError extends CertharvestError {
  readonly retryable = false;
  readonly url: string;

  constructor(url: string, why: string) {
    super(
      'OUTPUT_URL_INVALID',
      `${JSON.stringify(url)} is not an object-storage location: ${why}; expected s3://<bucket>[/<prefix>], e.g. s3://certificates/harvest`,
    );
    this.url = url;
  }
}

/** S3's bucket naming rules: 3 to 63 of `a-z 0-9 . -`, a letter or digit at each end. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
/** The characters AWS calls safe in keys (`=` too, for `key=value` folders). */
const PREFIX_SEGMENT = /^[A-Za-z0-9!_.*'()=-]+$/;
/**
 * The longest prefix accepted. A key is at most 1024 bytes; the rest of one is at most about 720
 * (host, user id and `<orgUnitId>-<issuedId>.json`, each bounded by certificate-path.ts).
 */
export const MAX_PREFIX_BYTES = 256;
/** Beside the user folders, never one: an encoded id never starts with `.` (certificate-path.ts). */
export const PROBE_NAME = '.certharvest-probe';

/** `s3://<bucket>[/<prefix>]` as an `S3Location`; anything else throws `S3UrlInvalidError`. */
export function parseS3Url(url: string): S3Location {
  if (typeof url !== 'string') throw new S3UrlInvalidError(String(url), 'not a string');
  const match = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/.exec(url);
  if (!match) {
    const why = url.startsWith('s3://') ? 'it holds `?` or `#`' : 'it does not start with s3://';
    throw new S3UrlInvalidError(url, why);
  }
  const bucket = match[1]!;
  if (!BUCKET.test(bucket) || bucket.includes('..') || IP_ADDRESS.test(bucket)) {
    throw new S3UrlInvalidError(
      url,
      `${JSON.stringify(bucket)} is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`,
    );
  }
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    for (const segment of prefix.split('/')) {
      if (!PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..') {
        throw new S3UrlInvalidError(
          url,
          `the prefix segment ${JSON.stringify(segment)} is empty, \`.\` or \`..\`, or holds characters other than letters, digits and !_.*'()=-`,
        );
      }
    }
    if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) {
      throw new S3UrlInvalidError(url, `the prefix is over ${MAX_PREFIX_BYTES} bytes`);
    }
  }
  return { bucket, prefix };
}

/** `s3://<bucket>/<key>`: how results and messages name an object. */
export const s3Url = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

// eslint-disable-next-line no-control-regex
const NOT_IN_HOST = /[/\\\u0000-\u001f\u007f]/;

/** The LMS host as a key segment: as the configuration has it (`host` or `host:port`), checked. */
export function checkHostSegment(lmsHost: string): string {
  if (lmsHost === '.' || lmsHost === '..' || NOT_IN_HOST.test(lmsHost) || lmsHost.length > 260) {
    throw new TypeError(
      `S3CertificateStore: options.lmsHost must be the LMS host name (host or host:port), got ${JSON.stringify(lmsHost)}`,
    );
  }
  return lmsHost;
}

/** `<prefix>/<lmsHost>`: the folder holding one LMS's certificates (no trailing `/`). */
export const hostFolder = (location: S3Location, lmsHost: string): string =>
  location.prefix === '' ? lmsHost : `${location.prefix}/${lmsHost}`;

/**
 * The keys of a certificate's PDF and sidecar, `<prefix>/<lmsHost>/<userId>/<orgUnitId>-<issuedId>.pdf`
 * and `.json`, each id written as in file names (`encodeIdForFileName`) and refused alike: an id
 * that cannot name a file throws `UnsafeIdError`. The shape is `CertificatePaths`, keys for paths.
 */
export function certificateKeys(
  location: S3Location,
  lmsHost: string,
  ids: CertificateIds,
): CertificatePaths {
  // The disk store's own naming and checks, on a fixed root: one set of rules for both stores.
  const onDisk = certificatePaths(path.sep, ids);
  const dir = `${hostFolder(location, lmsHost)}/${path.basename(onDisk.dir)}`;
  return { dir, pdf: `${dir}/${onDisk.stem}.pdf`, sidecar: `${dir}/${onDisk.stem}.json`, stem: onDisk.stem };
}
