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

/** The versions picked, and what an operator should hear about the choice (once). */
export interface PickedVersions {
  versions: ApiVersions;
  warnings: string[];
}

const OVERRIDE_VARIABLE: Record<Product, string> = { lp: 'LP_VERSION', bas: 'BAS_VERSION' };

/**
 * Pick, per product, the version to call:
 *   - an override (`LP_VERSION`, `BAS_VERSION`) when set, with a warning when the LMS does not
 *     list it;
 *   - else the newest version both sides know;
 *   - else, when the LMS offers only versions newer than ours, its oldest one above ours, with a
 *     warning: the routes certharvest uses have been stable across versions, and failing every job
 *     because the tenant upgraded would be worse.
 * @throws LmsVersionUnsupportedError when the LMS offers only versions older than ours
 */
export function pickVersions(
  server: readonly ServerProduct[],
  overrides: Partial<ApiVersions> = {},
): PickedVersions {
  const warnings: string[] = [];
  const pick = (product: Product): string => {
    const entry = server.find((p) => p.ProductCode.toLowerCase() === product);
    const offered = entry ? [...new Set([...(entry.SupportedVersions ?? []), entry.LatestVersion])] : [];
    const listed = offered.length ? [...offered].sort(compareVersions).join(', ') : '(none)';
    const override = overrides[product];
    if (override !== undefined) {
      if (!offered.includes(override)) {
        warnings.push(
          `${OVERRIDE_VARIABLE[product]}=${override} is not among the ${product} versions the LMS offers (${listed}); using it as set`,
        );
      }
      return override;
    }
    const known = KNOWN_VERSIONS[product];
    const newest = known
      .filter((v) => offered.includes(v))
      .sort(compareVersions)
      .at(-1);
    if (newest !== undefined) return newest;
    const newer = offered.filter((v) => compareVersions(v, known.at(-1)!) > 0).sort(compareVersions);
    if (newer[0] !== undefined) {
      warnings.push(
        `the LMS offers only ${product} API versions newer than this client knows (${listed}; known up to ${known.at(-1)}): ` +
          `using ${newer[0]}, the oldest of them. Set ${OVERRIDE_VARIABLE[product]} to choose another.`,
      );
      return newer[0];
    }
    throw new LmsVersionUnsupportedError(
      `the LMS offers ${product} API versions ${listed}; this client supports ${known[0]}–${known.at(-1)}` +
        ` (set ${OVERRIDE_VARIABLE[product]} to force one)`,
    );
  };
  return { versions: { lp: pick('lp'), bas: pick('bas') }, warnings };
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
