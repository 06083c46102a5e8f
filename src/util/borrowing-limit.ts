/**
 * A concurrency limit that borrows another's idle slots: work runs in `own` while it has room,
 * else in `lender` while the lender has nothing running or waiting in some slot, else it waits for
 * `own`. At most own + lender run at once, as with the two limits apart; but when the lender's
 * work dries up, its slots are not left idle.
 *
 * What a worker's user listings do with its download slots: a batch of users with one certificate
 * each needs a listing per certificate, and its downloads wait on listings while their slots idle.
 */
export interface Limit {
  <T>(work: () => Promise<T>): Promise<T>;
  readonly activeCount: number;
  readonly pendingCount: number;
  readonly concurrency: number;
}

const hasRoom = (limit: Limit): boolean => limit.activeCount + limit.pendingCount < limit.concurrency;

export function borrowingLimit(own: Limit, lender: Limit): <T>(work: () => Promise<T>) => Promise<T> {
  return (work) => (hasRoom(own) ? own(work) : hasRoom(lender) ? lender(work) : own(work));
}
