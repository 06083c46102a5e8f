/**
 * What a batch's record holds besides its results: its counters (written only by the accounting,
 * read by `BatchTracker`) and the entries of its failure list. Free of BullMQ, so `status` and the
 * CLI's listings load it cheaply.
 */

/** Counters of one batch, as shown by `certharvest status` and `submit --wait`. */
export interface BatchCounts {
  usersTotal: number;
  usersDone: number;
  usersFailed: number;
  certsFound: number;
  certsStored: number;
  /** Already on disk for this LMS with whole bytes: nothing downloaded. */
  certsAlreadyStored: number;
  certsFailed: number;
  badgesIgnored: number;
  /** Users whose discovery was removed from the queue by `cancel`. */
  usersCancelled: number;
  /** Certificates left undownloaded because the batch was cancelled. */
  certsCancelled: number;
}

/**
 * The counters every listing of batches shows, in this order (the columns of `status --format
 * csv` follow it: a new counter goes into `COUNT_FIELDS`, never in here).
 */
export const PROGRESS_COUNT_FIELDS = [
  'usersTotal',
  'usersDone',
  'usersFailed',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
] as const satisfies readonly (keyof BatchCounts)[];

/** Every counter of a batch's record. */
export const COUNT_FIELDS: readonly (keyof BatchCounts)[] = [
  ...PROGRESS_COUNT_FIELDS,
  'badgesIgnored',
  'usersCancelled',
  'certsCancelled',
];

/** Nothing of the batch is left to run: every user and certificate settled, or cancelled. */
export function isDone(c: BatchCounts, enumerating: boolean): boolean {
  return (
    !enumerating &&
    c.usersDone + c.usersFailed + c.usersCancelled >= c.usersTotal &&
    c.certsStored + c.certsAlreadyStored + c.certsFailed + c.certsCancelled >= c.certsFound
  );
}

/** One entry of a batch's failure list, as the accounting writes it (`<batch>:failures`). */
export interface BatchFailure {
  kind: 'user' | 'certificate';
  /** The user reference or `<orgUnitId>-<issuedId> (user <userId>)`. */
  ref: string;
  code: string;
  reason: string;
  at: string;
}
