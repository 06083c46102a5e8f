import type { LmsDataError } from '../errors.ts';
import type { AwardKind } from './schemas.ts';

export type { AwardKind } from './schemas.ts';

/** The service user itself (`users/whoami`). */
export interface WhoAmI {
  userId: number;
  firstName: string | null;
  lastName: string | null;
  uniqueName: string | null;
}

/** A Brightspace user (Valence `UserData`), reduced to what certharvest uses. */
export interface BrightspaceUser {
  userId: number;
  userName: string;
  orgDefinedId: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  email: string | null;
  isActive: boolean | null;
}

/** One award issued to a user (`bas` `issued/users/{userId}/`). */
export interface IssuedAward {
  /** The user the awards were listed for. */
  userId: number;
  issuedId: number;
  orgUnitId: number;
  awardId: number;
  awardType: AwardKind;
  title: string;
  issuedDate: Date | null;
  expiryDate: Date | null;
}

/** What `issued/users/{userId}/` is asked for, besides paging. */
export type { ListAwardsOptions } from '../ports.ts';

/**
 * One item of a listing: parsed, or refused with the reason and the raw JSON, so one bad object
 * fails only itself and the good ones on the same page still arrive.
 */
export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: LmsDataError; raw: unknown };

/**
 * The bearer `/pdf` route's answer: a PDF (its body went to the sink), or "this tenant has no such
 * route or permission".
 */
export type CertificatePdf =
  | { kind: 'pdf'; contentType: string; contentLength?: number }
  | {
      kind: 'unsupported';
      status: number;
      /** A 403 naming the scope the app lacks ("Insufficient scope … Required: x"). */
      missingScope?: string;
    };

/**
 * What `lp` `orgstructure/(orgUnitId)` said about an org unit: its name (null when it gave none
 * usable), no such org unit, or a refusal (403: the app's scope or the service user's role).
 */
export type OrgUnitNameAnswer =
  | { kind: 'found'; name: string | null }
  | { kind: 'not-found' }
  | { kind: 'forbidden'; missingScope?: string };

/** How a batch names a user. */
export type UserReference =
  | { by: 'userId'; value: number | string }
  | { by: 'userName'; value: string }
  | { by: 'orgDefinedId'; value: string };
