/**
 * Both stores are a `CertificateStorePort`: checked by the compiler (the assignments and
 * `expectTypeOf` below fail `tsc --noEmit` when a signature drifts) and at run time (every method
 * the port names is there, on both).
 */
import { afterAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { DownloadResult } from '../../src/certificate/index.ts';
import {
  CertificateStore,
  type CertificateStorePort,
  type IncomingCertificate,
} from '../../src/storage/index.ts';
import { S3CertificateStore } from '../../src/storage/s3-certificate-store.ts';

/** Every member the port names, once: a missing or extra one is a compile error. */
const PORT_MEMBERS = {
  lmsHost: 'string',
  paths: 'function',
  existing: 'function',
  receive: 'function',
  commit: 'function',
  save: 'function',
  sweepPartials: 'function',
  checkWritable: 'function',
} as const satisfies Record<keyof CertificateStorePort, 'string' | 'function'>;

// The SDK warns, once per process, that its 2027 releases need Node 22: noise here.
vi.stubEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
afterAll(() => void vi.unstubAllEnvs());

describe('CertificateStorePort', () => {
  const disk = new CertificateStore('/nonexistent/certharvest-port-test', { lmsHost: 'h.example' });
  const s3 = new S3CertificateStore({ url: 's3://certs/harvest', lmsHost: 'h.example', region: 'us-east-1' });
  afterAll(() => s3.close());

  it('is satisfied by the disk store and the object-storage store, as types', () => {
    const ports: CertificateStorePort[] = [disk, s3];
    expect(ports).toHaveLength(2);
    expectTypeOf(disk).toExtend<CertificateStorePort>();
    expectTypeOf(s3).toExtend<CertificateStorePort>();
    // What the download path holds on to: the sink it streams into, and the result it returns.
    expectTypeOf(disk.receive).returns.toExtend<IncomingCertificate>();
    expectTypeOf(s3.receive).returns.toExtend<IncomingCertificate>();
    expectTypeOf<ReturnType<CertificateStorePort['commit']>>().toEqualTypeOf<Promise<DownloadResult>>();
  });

  it.each([
    ['CertificateStore', disk],
    ['S3CertificateStore', s3],
  ] as const)('%s has every member of the port at run time', (_name, store) => {
    for (const [member, kind] of Object.entries(PORT_MEMBERS)) {
      expect(typeof (store as unknown as Record<string, unknown>)[member], member).toBe(kind);
    }
    const incoming = store.receive({ userId: 1, orgUnitId: 2, issuedId: 3 });
    for (const member of ['write', 'reset', 'discard'] as const)
      expect(typeof incoming[member]).toBe('function');
    expect(incoming.evidence.length).toBe(0);
    expect(store.paths({ userId: 1, orgUnitId: 2, issuedId: 3 }).pdf).toMatch(/\/1\/2-3\.pdf$/);
  });
});
