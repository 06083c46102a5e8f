/**
 * The Awards service writes dates as `U2026-05-13T20:01:00.827`: a `U` prefix, UTC, milliseconds
 * and no `Z` (https://docs.valence.desire2learn.com/res/awards.html; seen in working client code). The LP (users) service uses
 * plain ISO 8601 with `Z`.
 */
export function toBasDate(date: Date): string {
  return `U${date.toISOString().replace(/Z$/, '')}`;
}

/** Inverse of `toBasDate`, for tests and for the sandbox's own PDFs. */
export function fromBasDate(value: string): Date {
  const match = /^U(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(value);
  if (!match) throw new RangeError(`not a BAS date: ${value}`);
  return new Date(`${match[1]}Z`);
}
