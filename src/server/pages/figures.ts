/** A batch's figures as the pages show them: progress, durations, times and counts. */
import { isFinal, type BatchStatus } from '../../queue/index.ts';
import { html, type SafeHtml } from './html.ts';

/** How far a batch has come, 0..1, or null while unknown (the institution's users are being listed). */
export function progressOf(s: BatchStatus): number | null {
  if (s.state === 'done' || s.state === 'done-with-failures') return 1;
  if (s.enumerating) return null;
  const ratio = (part: number, whole: number) => (whole > 0 ? Math.min(1, part / whole) : 1);
  const users = ratio(s.usersDone + s.usersFailed, s.usersTotal);
  const certs = ratio(s.certsStored + s.certsAlreadyStored + s.certsFailed, s.certsFound);
  const fraction = Math.min(users, certs);
  // Never "100%" before the batch says it is done: the last user may still find certificates.
  return isFinal(s.state) ? fraction : Math.min(fraction, 0.99);
}

/** "42s", "5m 07s", "2h 05m", "3d 04h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** How long the batch took ("—" when unknown), or how long it has been running. */
export function elapsed(s: BatchStatus, now: number): string {
  const started = Date.parse(s.createdAt);
  const until = isFinal(s.state) ? (s.finishedAt ? Date.parse(s.finishedAt) : NaN) : now;
  return Number.isNaN(started) || Number.isNaN(until) ? '—' : formatDuration(until - started);
}

/** A time in UTC, to the minute; `zone` adds "UTC" (a table's header says it instead). */
export const time = (iso: string | undefined, zone = true): SafeHtml => {
  if (!iso) return html`—`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  const shown = `${d.toISOString().slice(0, 16).replace('T', ' ')}${zone ? ' UTC' : ''}`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString()}">${shown}</time>`;
};

export const count = (n: number): string => n.toLocaleString('en-US');
