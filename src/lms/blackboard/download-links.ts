import type { Certificate } from '../../certificate/index.ts';

type CertificateKey = Pick<Certificate, 'userId' | 'orgUnitId' | 'issuedId'>;

/**
 * Download links seen on listing pages, by certificate, with when they were read: a link read at
 * discovery serves the download within `ttlMs`. Bounded (oldest first out), whatever the batch size.
 */
export class DownloadLinks {
  readonly #links = new Map<string, { url: URL; at: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  remember(certificate: CertificateKey, url: URL, at: number): void {
    const key = keyOf(certificate);
    this.#links.delete(key);
    this.#links.set(key, { url, at });
    while (this.#links.size > this.#max) this.#links.delete(this.#links.keys().next().value as string);
  }

  /** The link read for this certificate less than `ttlMs` ago, if any. */
  fresh(certificate: CertificateKey, now = Date.now()): URL | undefined {
    const known = this.#links.get(keyOf(certificate));
    return known && now - known.at < this.#ttlMs ? known.url : undefined;
  }
}

const keyOf = (c: CertificateKey) =>
  JSON.stringify([String(c.userId), String(c.orgUnitId), String(c.issuedId)]);
