import type { z } from 'zod';
import { InvalidReferenceError } from '../errors.ts';
import type { issuedAwardSchema, userDataSchema } from './schemas.ts';
import type { BrightspaceUser, IssuedAward } from './types.ts';

// Valence's JSON as our types, and the check an id passes before it reaches a URL.

export function toUser(u: z.output<typeof userDataSchema>): BrightspaceUser {
  return {
    userId: u.UserId,
    userName: u.UserName,
    orgDefinedId: u.OrgDefinedId,
    firstName: u.FirstName,
    lastName: u.LastName,
    displayName: u.DisplayName,
    email: u.ExternalEmail,
    isActive: u.Activation?.IsActive ?? null,
  };
}

/**
 * Say `includeExpired` on every page, `Next` links included: whether Brightspace's `Next` keeps
 * the query is not documented [I], and a page 2 that fell back to the unknown default would drop
 * expired awards silently.
 */
export function withIncludeExpired(url: URL, includeExpired: boolean): URL {
  url.searchParams.set('includeExpired', String(includeExpired));
  return url;
}

export function toIssuedAward(a: z.output<typeof issuedAwardSchema>, userId: number): IssuedAward {
  return {
    userId,
    issuedId: a.IssuedId,
    orgUnitId: a.OrgUnitId,
    awardId: a.Award.AwardId,
    awardType: a.Award.AwardType,
    title: a.Award.Title,
    issuedDate: a.IssuedDate ?? null,
    expiryDate: a.ExpiryDate ?? null,
  };
}

/** An id from a batch or a job: a positive whole number (as `brightspaceId`), or it never reaches a URL. */
export function toId(value: number | string, what: string): number {
  const ok =
    typeof value === 'number'
      ? Number.isSafeInteger(value) && value > 0
      : typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value);
  if (!ok) {
    throw new InvalidReferenceError(
      `${what} ${JSON.stringify(value)} is not a Brightspace id: expected a positive whole number`,
    );
  }
  return Number(value);
}

/** Keep only certificates (`AwardType` 2 or "Certificate"); badges have no PDF. */
export function certificatesOnly(awards: Iterable<IssuedAward>): IssuedAward[] {
  return [...awards].filter(isCertificate);
}

export function isCertificate(award: IssuedAward): boolean {
  return award.awardType === 'certificate';
}
