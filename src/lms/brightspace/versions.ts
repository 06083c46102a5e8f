import { LmsVersionUnsupportedError } from '../errors.ts';

/** The Valence API versions this client was written against, per product. */
export const KNOWN_VERSIONS = {
  lp: range(1, 26, 53),
  bas: range(1, 0, 4),
} as const;

export type Product = keyof typeof KNOWN_VERSIONS;

/** The versions used for each product's routes, e.g. `{ lp: '1.53', bas: '1.4' }`. */
export type ApiVersions = Record<Product, string>;

export interface ServerProduct {
  ProductCode: string;
  LatestVersion: string;
  SupportedVersions?: string[] | null | undefined;
}

/**
 * Pick, per product, the newest version both sides know. Versions newer than ours are ignored:
 * we cannot know what changed in them.
 * @throws LmsVersionUnsupportedError naming the product and what the server offers
 */
export function pickVersions(server: readonly ServerProduct[]): ApiVersions {
  const pick = (product: Product): string => {
    const entry = server.find((p) => p.ProductCode.toLowerCase() === product);
    const offered = entry ? [...(entry.SupportedVersions ?? []), entry.LatestVersion] : [];
    const common = KNOWN_VERSIONS[product].filter((v) => offered.includes(v));
    const newest = common.sort(compareVersions).at(-1);
    if (newest === undefined) {
      const known = KNOWN_VERSIONS[product];
      throw new LmsVersionUnsupportedError(
        `the LMS offers ${product} API versions ${offered.length ? offered.join(', ') : '(none)'}; ` +
          `this client supports ${known[0]}–${known.at(-1)}`,
      );
    }
    return newest;
  };
  return { lp: pick('lp'), bas: pick('bas') };
}

/** Numeric compare of `major.minor` (1.10 > 1.9). */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

function range(major: number, from: number, to: number): readonly string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${major}.${from + i}`);
}
