import type { Readable } from 'node:stream';
import {
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  ObjectStoreNoSuchBucketError,
  sdkFailure,
  toObjectStoreError,
  type ObjectStoreSite,
} from './s3-errors.ts';

/** What a HEAD tells of an object: its ETag and size, and the user metadata the store wrote. */
export interface ObjectFacts {
  etag: string;
  size: number;
  /** `x-amz-meta-*`, names lowercase (S3 returns them so). */
  metadata: Record<string, string>;
}

/** Write only when nothing is there (`*`), or only over the object with this ETag. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface PutRequest {
  key: string;
  body: Uint8Array | Readable;
  bytes: number;
  /** The body's SHA-256 in hex: sent as `x-amz-checksum-sha256`, so S3 refuses other bytes. */
  sha256: string;
  contentType: string;
  metadata?: Record<string, string>;
}

/**
 * The answers a conditional write loses with: 412 (the condition is false), 409 (another
 * conditional write to the key was in flight: AWS says try again), 404 (If-Match on a key
 * removed meanwhile). The caller looks again and decides.
 */
const LOST = new Set([404, 409, 412]);

/** One bucket through one client: HEAD and PUT with the SDK's errors turned into typed ones. */
export class BucketObjects {
  readonly client: S3Client;
  readonly bucket: string;
  readonly endpoint: string;

  constructor(client: S3Client, bucket: string, endpoint: string) {
    this.client = client;
    this.bucket = bucket;
    this.endpoint = endpoint;
  }

  site(key?: string): ObjectStoreSite {
    return { bucket: this.bucket, endpoint: this.endpoint, key };
  }

  /** The object's facts, or null when there is none (404). */
  async head(key: string): Promise<ObjectFacts | null> {
    try {
      const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { etag: answer.ETag ?? '', size: answer.ContentLength ?? 0, metadata: answer.Metadata ?? {} };
    } catch (err) {
      if (sdkFailure(err)?.status === 404) return null;
      throw toObjectStoreError(err, this.site(key));
    }
  }

  /**
   * One PutObject. With a `condition`: false when it does not hold (someone else wrote first, or
   * the object changed since its ETag was seen); true when this write took.
   */
  async put(request: PutRequest, condition?: WriteCondition): Promise<boolean> {
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: request.key,
      Body: request.body,
      ContentLength: request.bytes,
      ContentType: request.contentType,
      ChecksumSHA256: Buffer.from(request.sha256, 'hex').toString('base64'),
      ...(request.metadata && { Metadata: request.metadata }),
      ...(condition && 'ifNoneMatch' in condition && { IfNoneMatch: condition.ifNoneMatch }),
      ...(condition && 'ifMatch' in condition && { IfMatch: condition.ifMatch }),
    };
    try {
      await this.client.send(new PutObjectCommand(input));
      return true;
    } catch (err) {
      const f = sdkFailure(err);
      if (condition && f?.status !== undefined && LOST.has(f.status) && f.name !== 'NoSuchBucket')
        return false;
      throw toObjectStoreError(err, this.site(request.key));
    }
  }

  /** The bucket is there and these credentials may list it; else a typed error naming both. */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // A HEAD answer has no body: a 404 is all S3 says of a missing bucket.
      if (sdkFailure(err)?.status === 404)
        throw new ObjectStoreNoSuchBucketError(this.site(), { cause: err });
      throw toObjectStoreError(err, this.site());
    }
  }
}
