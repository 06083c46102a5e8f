import type { S3CertificateStore, S3CertificateStoreOptions } from './s3-certificate-store.ts';

/**
 * An `S3CertificateStore`, its module (and the AWS SDK, about half a second of loading) read only
 * now: a command that never stores in object storage never pays for it.
 */
export async function openS3CertificateStore(
  options: S3CertificateStoreOptions,
): Promise<S3CertificateStore> {
  const { S3CertificateStore: Store } = await import('./s3-certificate-store.ts');
  return new Store(options);
}
