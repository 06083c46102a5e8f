import { z } from 'zod';
import { sameLmsId, type CertificateIds, type StoredCertificate } from '../certificate/index.ts';

/** The sidecar file's text: 2-space JSON with a trailing newline. */
export const formatSidecar = (stored: StoredCertificate): string => `${JSON.stringify(stored, null, 2)}\n`;

/**
 * Only what deciding "already stored" needs is checked; the rest of the sidecar is for people and
 * other tools, and a stricter reading would make a harmless difference cost a re-download.
 */
const sidecarFacts = z.object({
  userId: z.union([z.number(), z.string()]),
  orgUnitId: z.union([z.number(), z.string()]),
  issuedId: z.union([z.number(), z.string()]),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  lmsHost: z.string(),
});
export type SidecarFacts = z.infer<typeof sidecarFacts>;

/** The sidecar's facts when `text` is one for these ids from this LMS host, else null. */
export function readSidecar(text: string, ids: CertificateIds, lmsHost: string): SidecarFacts | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = sidecarFacts.safeParse(json);
  if (!parsed.success) return null;
  const facts = parsed.data;
  const same =
    facts.lmsHost === lmsHost &&
    sameLmsId(facts.userId, ids.userId) &&
    sameLmsId(facts.orgUnitId, ids.orgUnitId) &&
    sameLmsId(facts.issuedId, ids.issuedId);
  return same ? facts : null;
}
