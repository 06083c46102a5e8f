import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.ts';
import { certificatePaths, type CertificatePaths } from './certificate-path.ts';

/** What the sidecar JSON beside each PDF holds. */
export interface CertificateMetadata {
  userId: number;
  orgUnitId: number;
  issuedId: number;
  awardId: number;
  title: string;
  /** ISO 8601, UTC. */
  issuedDate: string | null;
  sha256: string;
  bytes: number;
  source: 'api' | 'browser';
  /** ISO 8601, UTC. */
  downloadedAt: string;
  lmsHost: string;
  userRef?: string;
}

export type CertificateFacts = Omit<CertificateMetadata, 'sha256' | 'bytes' | 'downloadedAt'>;

export interface StoreResult {
  status: 'stored' | 'unchanged';
  paths: CertificatePaths;
  sha256: string;
  bytes: number;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Where certificates land. The PDF is written first and the sidecar second, both atomically, so a
 * sidecar always describes a whole PDF; the PDF's own bytes (not the sidecar) decide whether a
 * certificate is already present.
 */
export class CertificateStore {
  constructor(readonly outputDir: string) {}

  paths(facts: Pick<CertificateFacts, 'userId' | 'orgUnitId' | 'issuedId'>): CertificatePaths {
    return certificatePaths(this.outputDir, facts);
  }

  /** The stored metadata when the PDF and its sidecar are both there and agree; else null. */
  async existing(
    facts: Pick<CertificateFacts, 'userId' | 'orgUnitId' | 'issuedId'>,
  ): Promise<CertificateMetadata | null> {
    const paths = this.paths(facts);
    const [pdf, sidecar] = await Promise.all([readOrNull(paths.pdf), readOrNull(paths.sidecar)]);
    if (!pdf || !sidecar) return null;
    try {
      const meta = JSON.parse(sidecar.toString('utf8')) as CertificateMetadata;
      return meta.sha256 === sha256Hex(pdf) && meta.bytes === pdf.length ? meta : null;
    } catch {
      return null;
    }
  }

  /** Store a validated PDF; skip the write when the same bytes are already there. */
  async save(facts: CertificateFacts, pdf: Uint8Array, now = new Date()): Promise<StoreResult> {
    const paths = this.paths(facts);
    const sha256 = sha256Hex(pdf);
    const current = await this.existing(facts);
    if (current && current.sha256 === sha256) {
      return { status: 'unchanged', paths, sha256, bytes: pdf.length };
    }
    await mkdir(paths.dir, { recursive: true });
    const meta: CertificateMetadata = {
      ...facts,
      sha256,
      bytes: pdf.length,
      downloadedAt: now.toISOString(),
    };
    await writeFileAtomic(paths.pdf, pdf);
    await writeFileAtomic(paths.sidecar, `${JSON.stringify(meta, null, 2)}\n`);
    return { status: 'stored', paths, sha256, bytes: pdf.length };
  }
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
