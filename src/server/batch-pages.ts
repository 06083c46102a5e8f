/**
 * The board's batch pages, server-rendered HTML beside Bull Board (behind the same login):
 *
 *   GET  /batches                          the recent batches, newest first
 *   GET  /batches/:id                      one batch: its figures, links, failures
 *   GET  /batches/:id/certificates.csv     its manifest (one row per certificate, per failed user)
 *   POST /batches/:id/cancel               cancel it, then back to its page (303)
 *   POST /batches/:id/retry                retry its failures, then to the new batch's page (303)
 *
 * The POSTs are refused (403) on a read-only board, whose pages show no buttons; a POST from
 * another site is refused before it gets here (`sameOriginWrites`). Every value is escaped as it
 * is put in a page (`html`): failure reasons are the LMS's text. No script at all; a page whose
 * batch still runs reloads itself every few seconds.
 */
import { createHash } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { CertharvestError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import {
  BatchNotFoundError,
  batchIdSchema,
  BatchStillRunningError,
  BatchTracker,
  cancelBatch,
  isFinal,
  NothingToRetryError,
  retryBatch,
  type BatchFailure,
  type BatchStatus,
  type CertharvestQueues,
} from '../queue/index.ts';
import { manifestCsvHeader, manifestCsvRows } from '../report/manifest.ts';

export interface BatchPagesOptions {
  queues: CertharvestQueues;
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
  /** No Cancel or Retry buttons; their POST routes answer 403. */
  readOnly: boolean;
  /** BOARD_ENV_LABEL and its colour, shown in the pages' top bar as in Bull Board's header. */
  env?: { label: string; color: string };
  /** Batches on the list page. Default 50. */
  listLimit?: number;
}

/** Failures listed on a batch's page; the manifest CSV has every one. */
export const FAILURES_SHOWN = 200;
/** Seconds between reloads of a page that shows a running batch. */
export const REFRESH_SECONDS = 5;

// ---------------------------------------------------------------------------------------------
// HTML: `html` escapes every value it is given but another `html` result, so a template cannot
// forget to.

/** Markup that is safe to put in a page as it is: made by `html` (or from a constant). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for an element's content and for a quoted attribute value. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const renderValue = (v: HtmlValue): string =>
  v instanceof SafeHtml
    ? v.text
    : Array.isArray(v)
      ? v.map(renderValue).join('')
      : v === null || v === undefined || v === false || v === true
        ? ''
        : escapeHtml(String(v));

/** A template whose values are escaped (arrays joined; null, undefined and booleans left out). */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => (out += renderValue(v) + (strings[i + 1] ?? '')));
  return new SafeHtml(out);
}

const batchUrl = (batchId: string, tail = ''): string => `/batches/${encodeURIComponent(batchId)}${tail}`;

// ---------------------------------------------------------------------------------------------
// Figures

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
function elapsed(s: BatchStatus, now: number): string {
  const started = Date.parse(s.createdAt);
  const until = isFinal(s.state) ? (s.finishedAt ? Date.parse(s.finishedAt) : NaN) : now;
  return Number.isNaN(started) || Number.isNaN(until) ? '—' : formatDuration(until - started);
}

const tookCell = (s: BatchStatus, now: number): SafeHtml =>
  html`${isFinal(s.state) ? null : 'running for '}<span class="nowrap">${elapsed(s, now)}</span>`;

/** A time in UTC, to the minute; `zone` adds "UTC" (a table's header says it instead). */
const time = (iso: string | undefined, zone = true): SafeHtml => {
  if (!iso) return html`—`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  const shown = `${d.toISOString().slice(0, 16).replace('T', ' ')}${zone ? ' UTC' : ''}`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString()}">${shown}</time>`;
};

const count = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Templates

const stateLabel = (s: BatchStatus) => html`<span class="state state-${s.state}">${s.state}</span>`;

function progressBar(s: BatchStatus): SafeHtml {
  const p = progressOf(s);
  if (p === null) {
    return html`<span class="progress"
      ><progress class="bar-${s.state}" aria-label="progress: listing users"></progress
      ><span class="pct">listing users</span></span
    >`;
  }
  const pct = Math.floor(p * 100);
  return html`<span class="progress"
    ><progress class="bar-${s.state}" max="100" value="${pct}" aria-label="progress">${pct}%</progress
    ><span class="pct">${pct}%</span></span
  >`;
}

function usersCell(s: BatchStatus): SafeHtml {
  const settled = s.usersDone + s.usersFailed + s.usersCancelled;
  return html`${count(settled)}/${count(s.usersTotal)}${s.enumerating ? '+' : ''}${
    s.usersFailed > 0 ? html`<span class="sub bad">${count(s.usersFailed)} failed</span>` : null
  }`;
}

function batchRow(s: BatchStatus, now: number): SafeHtml {
  return html`<tr>
    <td>
      <a class="batch" href="${batchUrl(s.batchId)}">${s.batchId}</a>${
        s.retryOf ? html`<span class="sub">retry of ${s.retryOf}</span>` : null
      }
    </td>
    <td>${stateLabel(s)}</td>
    <td>${progressBar(s)}</td>
    <td class="num">${usersCell(s)}</td>
    <td class="num">${count(s.certsFound)}</td>
    <td class="num">${count(s.certsStored)}</td>
    <td class="num">${count(s.certsAlreadyStored)}</td>
    <td class="num${s.certsFailed > 0 ? ' bad' : ''}">${count(s.certsFailed)}</td>
    <td>${time(s.createdAt, false)}</td>
    <td class="took">${tookCell(s, now)}</td>
  </tr>`;
}

export function listPage(batches: readonly BatchStatus[], now: number, limit: number): SafeHtml {
  const running = batches.some((b) => !isFinal(b.state));
  const table =
    batches.length === 0
      ? html`<p class="empty">
          No batch yet (batches are kept 30 days). Submit one with <code>certharvest submit</code> or
          <code>POST /api/batches</code>.
        </p>`
      : html`<table class="batches">
          <thead>
            <tr>
              <th>Batch</th>
              <th>State</th>
              <th>Progress</th>
              <th class="num">Users</th>
              <th class="num">Found</th>
              <th class="num">Stored</th>
              <th class="num short">Already stored</th>
              <th class="num">Failed</th>
              <th>Started (UTC)</th>
              <th>Took</th>
            </tr>
          </thead>
          <tbody>
            ${batches.map((b) => batchRow(b, now))}
          </tbody>
        </table>`;
  return html`<h1>Batches</h1>
    <p class="lead">
      The ${limit} most recent, newest first.
      ${running ? html`This page reloads every ${REFRESH_SECONDS} s while a batch runs.` : null} Stored:
      downloaded by the batch; already stored: on disk before it.
    </p>
    ${table}`;
}

/** The one-line notices a POST redirects with (`?notice=`): a fixed set, nothing of the request echoed. */
const NOTICES = {
  cancelled: {
    ok: true,
    text: 'Cancelled: its queued work is removed from the queues; jobs already running finish first.',
  },
  'already-cancelled': { ok: true, text: 'This batch was already cancelled.' },
  'already-ended': { ok: false, text: 'Nothing to cancel: the batch had already ended.' },
  retried: {
    ok: true,
    text: 'Retry queued: this new batch discovers the failed users and certificates again.',
  },
  'still-running': {
    ok: false,
    text: 'Not retried: the batch is still running. Retry it once it has ended, or cancel it first.',
  },
  'nothing-to-retry': {
    ok: false,
    text: 'Nothing to retry: user references refused as malformed are not retried (submit them corrected).',
  },
} as const satisfies Record<string, { ok: boolean; text: string }>;
export type Notice = keyof typeof NOTICES;

const isNotice = (v: unknown): v is Notice => typeof v === 'string' && Object.hasOwn(NOTICES, v);

const figure = (label: string, value: HtmlValue, cls = '') =>
  html`<div class="fig${cls ? ` ${cls}` : ''}">
    <dt>${label}</dt>
    <dd>${value}</dd>
  </div>`;

function failuresTable(
  failures: { total: number; failures: readonly BatchFailure[] },
  csv: string,
): SafeHtml {
  if (failures.total === 0) return html`<p class="empty">No failures.</p>`;
  const rows = failures.failures.map(
    (f) =>
      html`<tr>
        <td>${f.kind}</td>
        <td class="ref">${f.ref}</td>
        <td><code>${f.code}</code></td>
        <td class="reason">${f.reason}</td>
        <td>${time(f.at, false)}</td>
      </tr>`,
  );
  const shown = failures.failures.length;
  return html`<table class="failures">
      <thead>
        <tr>
          <th>Kind</th>
          <th>Reference</th>
          <th>Code</th>
          <th>Reason</th>
          <th>At (UTC)</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    ${
      failures.total > shown
        ? html`<p class="note">
            The first ${count(shown)} of ${count(failures.total)} failures;
            <a href="${csv}">the manifest CSV</a> has every one.
          </p>`
        : null
    }`;
}

export interface BatchPageInput {
  status: BatchStatus;
  failures: { total: number; failures: readonly BatchFailure[] };
  notice?: Notice | undefined;
  readOnly: boolean;
  now: number;
}

export function batchPage({ status: s, failures, notice, readOnly, now }: BatchPageInput): SafeHtml {
  const csv = batchUrl(s.batchId, '/certificates.csv');
  const n = notice ? NOTICES[notice] : null;
  const canCancel = !readOnly && s.state === 'running';
  const canRetry = !readOnly && isFinal(s.state) && s.usersFailed + s.certsFailed > 0;
  const settled = s.certsStored + s.certsAlreadyStored + s.certsFailed;
  return html`<p class="crumbs"><a href="/batches">Batches</a> /</p>
    <h1><span class="id">${s.batchId}</span> ${stateLabel(s)}</h1>
    ${n ? html`<p class="notice ${n.ok ? 'ok' : 'warn'}" role="status">${n.text}</p>` : null}
    ${
      s.retryOf || s.retriedBy
        ? html`<p class="links">
            ${
              s.retryOf
                ? html`Retries the failures of <a href="${batchUrl(s.retryOf)}">${s.retryOf}</a>. `
                : null
            }${s.retriedBy ? html`Its failures are retried by <a href="${batchUrl(s.retriedBy)}">${s.retriedBy}</a>.` : null}
          </p>`
        : null
    }
    <div class="overview">
      ${progressBar(s)}
      <span class="muted"
        >${count(settled)} of ${count(s.certsFound)} certificates
        settled${s.enumerating ? ' · still listing the institution’s users' : ''}</span
      >
    </div>
    <div class="cards">
      <section class="card">
        <h2>Certificates</h2>
        <dl>
          ${figure('found', count(s.certsFound))} ${figure('stored', count(s.certsStored), 'good')}
          ${figure('already stored', count(s.certsAlreadyStored))}
          ${figure('failed', count(s.certsFailed), s.certsFailed > 0 ? 'bad' : '')}
          ${s.certsCancelled > 0 ? figure('cancelled', count(s.certsCancelled)) : null}
        </dl>
      </section>
      <section class="card">
        <h2>Users</h2>
        <dl>
          ${figure('total', `${count(s.usersTotal)}${s.enumerating ? '+' : ''}`)}
          ${figure('done', count(s.usersDone))}
          ${figure('failed', count(s.usersFailed), s.usersFailed > 0 ? 'bad' : '')}
          ${s.usersCancelled > 0 ? figure('cancelled', count(s.usersCancelled)) : null}
          ${figure('named by', s.by)}
        </dl>
      </section>
      <section class="card">
        <h2>Time</h2>
        <dl>
          ${figure('started', time(s.createdAt))}
          ${isFinal(s.state) ? figure('finished', time(s.finishedAt)) : null}
          ${figure(isFinal(s.state) ? 'took' : 'running for', elapsed(s, now))}
          ${s.cancelledAt ? figure('cancelled', time(s.cancelledAt)) : null}
          ${s.refresh ? figure('refresh', 'fetches every certificate again') : null}
        </dl>
      </section>
    </div>
    <div class="actions">
      <a class="button" href="${csv}" download>Manifest (CSV)</a>
      ${
        canCancel
          ? html`<form method="post" action="${batchUrl(s.batchId, '/cancel')}">
              <button type="submit" class="danger">Cancel batch</button>
            </form>`
          : null
      }
      ${
        canRetry
          ? html`<form method="post" action="${batchUrl(s.batchId, '/retry')}">
              <button type="submit">Retry failures</button>
            </form>`
          : null
      }
      ${readOnly ? html`<span class="muted">Read-only board: no cancel or retry here.</span>` : null}
    </div>
    <h2 class="section">Failures <span class="muted">(${count(failures.total)})</span></h2>
    ${failuresTable(failures, csv)}`;
}

const messagePage = (title: string, text: string) =>
  html`<p class="crumbs"><a href="/batches">Batches</a> /</p>
    <h1>${title}</h1>
    <p class="lead">${text}</p>`;

// ---------------------------------------------------------------------------------------------
// The page around it

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f4f5f7}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
nav{display:flex;align-items:center;gap:18px;padding:0 24px;height:48px;background:#1f2937;color:#e5e7eb}
nav a{color:#e5e7eb}nav .brand{font-weight:600;color:#fff}nav a[aria-current]{color:#fff;border-bottom:2px solid #60a5fa;padding-bottom:2px}
nav .right{margin-left:auto;display:flex;gap:10px;align-items:center}
nav .env,nav .mode{font-size:12px;padding:2px 8px;border-radius:4px}
nav .env{font-weight:600}nav .mode{background:#374151}
main{max-width:1160px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:4px 0 6px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
h1 .id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:20px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#6b7280;margin:0 0 8px}
h2.section{margin:28px 0 10px}
.lead{color:#4b5563;margin:0 0 16px}.muted{color:#6b7280;font-weight:400}.crumbs{margin:0;color:#6b7280}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e5e7eb;border-radius:8px;overflow:hidden}
th,td{padding:9px 8px;text-align:left;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:12px;font-weight:600;color:#6b7280;background:#fafbfc}
time,a.batch,.nowrap{white-space:nowrap}
th.num.short{white-space:normal;width:64px}td.took{min-width:124px}
th:first-child,td:first-child{padding-left:14px}th:last-child,td:last-child{padding-right:14px}
tbody tr:last-child td{border-bottom:0}tbody tr:hover{background:#f9fafb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td .sub{display:block;font-size:12px;color:#6b7280}
.bad{color:#b91c1c}.good{color:#15803d}
a.batch{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.state{display:inline-block;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.state-running{background:#dbeafe;color:#1e40af}.state-cancelling{background:#fef3c7;color:#92400e}
.state-done{background:#dcfce7;color:#166534}.state-done-with-failures{background:#ffedd5;color:#9a3412}
.state-cancelled{background:#e5e7eb;color:#374151}
.progress{display:inline-flex;align-items:center;gap:8px;white-space:nowrap}
.pct{font-size:12px;color:#4b5563;font-variant-numeric:tabular-nums;min-width:2.6em}
progress{-webkit-appearance:none;appearance:none;width:80px;height:8px;border:0;border-radius:4px;background:#e5e7eb;overflow:hidden}
progress::-webkit-progress-bar{background:#e5e7eb;border-radius:4px}
progress::-webkit-progress-value{background:#3b82f6;border-radius:4px}progress::-moz-progress-bar{background:#3b82f6}
.bar-done::-webkit-progress-value{background:#16a34a}.bar-done::-moz-progress-bar{background:#16a34a}
.bar-done-with-failures::-webkit-progress-value{background:#ea580c}.bar-done-with-failures::-moz-progress-bar{background:#ea580c}
.bar-cancelled::-webkit-progress-value,.bar-cancelling::-webkit-progress-value{background:#9ca3af}
.bar-cancelled::-moz-progress-bar,.bar-cancelling::-moz-progress-bar{background:#9ca3af}
.overview{display:flex;align-items:center;gap:14px;margin:14px 0 16px}.overview progress{width:320px;height:10px}
.links{margin:6px 0 0;color:#374151}
.notice{margin:10px 0;padding:9px 12px;border-radius:6px;border:1px solid}
.notice.ok{background:#eff6ff;border-color:#bfdbfe;color:#1e3a8a}.notice.warn{background:#fff7ed;border-color:#fed7aa;color:#9a3412}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:14px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px}
dl{margin:0}.fig{display:flex;justify-content:space-between;padding:3px 0;border-bottom:1px dashed #eef0f3}.fig:last-child{border-bottom:0}
dt{color:#6b7280}dd{margin:0;font-variant-numeric:tabular-nums;font-weight:500;text-align:right}
.actions{display:flex;align-items:center;gap:10px;margin:16px 0 0;flex-wrap:wrap}.actions form{margin:0}
.button,button{display:inline-block;font:inherit;font-weight:500;padding:7px 14px;border-radius:6px;border:1px solid #d1d5db;background:#fff;color:#1f2937;cursor:pointer}
.button:hover,button:hover{background:#f3f4f6;text-decoration:none}
button{background:#1d4ed8;border-color:#1d4ed8;color:#fff}button:hover{background:#1e40af}
button.danger{background:#fff;border-color:#fca5a5;color:#b91c1c}button.danger:hover{background:#fef2f2}
td.ref{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;white-space:nowrap}
td.reason{word-break:break-word;max-width:520px}
.note,.empty{color:#6b7280}.empty{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px}
`;

interface Chrome {
  /** The `<style>` element (with the env label's colour) and the CSP that allows exactly it. */
  style: SafeHtml;
  csp: string;
  env?: { label: string; color: string } | undefined;
  readOnly: boolean;
}

function chrome(options: Pick<BatchPagesOptions, 'env' | 'readOnly'>): Chrome {
  // The colour comes from the board's own code, never from a request; checked all the same.
  const color = options.env && /^#[0-9a-f]{3,8}$/i.test(options.env.color) ? options.env.color : '#b45309';
  const css = `${CSS}nav .env{background:${color};color:#fff}\n`;
  const hash = createHash('sha256').update(css, 'utf8').digest('base64');
  return {
    // Built here, not in a template a formatter may re-indent: its text must match the hash.
    style: new SafeHtml(`<style>${css}</style>`),
    csp: [
      "default-src 'none'",
      `style-src 'sha256-${hash}'`,
      "img-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    env: options.env,
    readOnly: options.readOnly,
  };
}

function page(
  c: Chrome,
  p: { title: string; body: SafeHtml; current: 'list' | 'batch'; refresh?: string },
): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${p.refresh ? html`<meta http-equiv="refresh" content="${REFRESH_SECONDS}; url=${p.refresh}" />` : null}
        <title>${p.title} · certharvest</title>
        ${c.style}
      </head>
      <body>
        <nav>
          <a class="brand" href="/">certharvest</a>
          <a href="/">Queues</a>
          <a href="/batches" ${p.current === 'list' ? html` aria-current="page"` : null}>Batches</a>
          <span class="right"
            >${c.env ? html`<span class="env">${c.env.label}</span>` : null}${
              c.readOnly ? html`<span class="mode">read-only</span>` : null
            }</span
          >
        </nav>
        <main>${p.body}</main>
      </body>
    </html> `.text;
}

// ---------------------------------------------------------------------------------------------
// Routes

/** The batch pages' routes; mount them behind the board's login and `sameOriginWrites`. */
export function batchPagesRouter(options: BatchPagesOptions): express.Router {
  const tracker = new BatchTracker(options.redis, options.prefix);
  const control = { queues: options.queues, redis: options.redis, prefix: options.prefix };
  const log = options.logger.child({ component: 'batch-pages' });
  const limit = options.listLimit ?? 50;
  const c = chrome(options);
  const router = express.Router();

  const send = (res: Response, status: number, p: Parameters<typeof page>[1]) => {
    res
      .status(status)
      .set({
        'Content-Security-Policy': c.csp,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        // Same-origin requests keep their Referer (and a POST its Origin) for `sameOriginWrites`.
        'Referrer-Policy': 'same-origin',
      })
      .type('html')
      .send(page(c, p));
  };
  const notFound = (res: Response, what: 'batch' | 'page' = 'batch') =>
    send(res, 404, {
      title: `No such ${what}`,
      current: 'batch',
      body: messagePage(
        `No such ${what}`,
        what === 'batch'
          ? 'There is no batch with this id (batches are kept 30 days).'
          : 'The batch pages are /batches and /batches/<batch id>.',
      ),
    });
  /** The batch id in the path, when it is one (anything else cannot name a batch). */
  const idOf = (req: Request): string | null => {
    const parsed = batchIdSchema.safeParse(req.params.id);
    return parsed.success ? parsed.data : null;
  };
  /** A handler whose failure is logged and answered with an error page (or cuts a started answer). */
  const handle =
    (what: string, fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response) => {
      try {
        await fn(req, res);
      } catch (err) {
        log.error({ err, batchId: req.params.id, path: req.path }, `batch pages: ${what} failed`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // Our own errors say what is wrong in words for the reader; anything else, the log has.
        const ours = err instanceof CertharvestError;
        send(res, ours ? 409 : 500, {
          title: 'Error',
          current: 'batch',
          body: messagePage(
            'Something went wrong',
            `${what} failed: ${ours ? err.message : 'the board’s log has the cause'}`,
          ),
        });
      }
    };

  router.get(
    '/batches',
    handle('reading the recent batches', async (_req, res) => {
      const batches = await tracker.recent(limit);
      send(res, 200, {
        title: 'Batches',
        current: 'list',
        body: listPage(batches, Date.now(), limit),
        ...(batches.some((b) => !isFinal(b.state)) ? { refresh: '/batches' } : {}),
      });
    }),
  );

  router.get(
    '/batches/:id',
    handle('reading the batch', async (req, res) => {
      const batchId = idOf(req);
      if (!batchId) return notFound(res);
      const [status, failures] = await Promise.all([
        // 1, not 0: `status` reads failures 0..max-1, and 0..-1 is every one of them.
        tracker.status(batchId, 1),
        tracker.failures(batchId, 0, FAILURES_SHOWN),
      ]);
      if (!status || !failures) return notFound(res);
      const notice = isNotice(req.query.notice) ? req.query.notice : undefined;
      send(res, 200, {
        title: `Batch ${batchId}`,
        current: 'batch',
        body: batchPage({ status, failures, notice, readOnly: options.readOnly, now: Date.now() }),
        // The reload drops the notice: it told of one action, once.
        ...(isFinal(status.state) ? {} : { refresh: batchUrl(batchId) }),
      });
    }),
  );

  router.get(
    '/batches/:id/certificates.csv',
    handle('writing the manifest', async (req, res) => {
      const batchId = idOf(req);
      if (!batchId || !(await tracker.exists(batchId))) return notFound(res);
      res
        .status(200)
        .set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
        .type('text/csv; charset=utf-8')
        .attachment(`${batchId}-certificates.csv`);
      await write(res, manifestCsvHeader());
      for await (const rows of tracker.manifestPages(batchId)) {
        if (res.destroyed) return;
        await write(res, manifestCsvRows(rows));
      }
      res.end();
    }),
  );

  /** The POST routes: refused on a read-only board, 404 for an unknown batch, else `act`. */
  const control303 = (what: string, act: (batchId: string) => Promise<{ to: string; notice: Notice }>) =>
    handle(what, async (req, res) => {
      if (options.readOnly) {
        return send(res, 403, {
          title: 'Read-only board',
          current: 'batch',
          body: messagePage(
            'Read-only board',
            'This board only shows (BOARD_READ_ONLY): cancel or retry a batch with certharvest cancel or certharvest retry.',
          ),
        });
      }
      const batchId = idOf(req);
      if (!batchId) return notFound(res);
      try {
        const { to, notice } = await act(batchId);
        res.redirect(303, `${batchUrl(to)}?notice=${notice}`);
      } catch (err) {
        if (err instanceof BatchNotFoundError) return notFound(res);
        throw err;
      }
    });

  router.post(
    '/batches/:id/cancel',
    control303('cancelling the batch', async (batchId) => {
      const { status, outcome, ...counts } = await cancelBatch(batchId, control);
      log.info({ ...counts, outcome, state: status.state }, 'batch cancelled from the board');
      return { to: batchId, notice: outcome };
    }),
  );

  router.post(
    '/batches/:id/retry',
    control303('retrying the batch', async (batchId) => {
      try {
        const result = await retryBatch(batchId, control, {});
        log.info({ ...result }, 'batch retried from the board');
        return { to: result.batchId, notice: 'retried' };
      } catch (err) {
        if (err instanceof BatchStillRunningError) return { to: batchId, notice: 'still-running' };
        if (err instanceof NothingToRetryError) return { to: batchId, notice: 'nothing-to-retry' };
        throw err;
      }
    }),
  );
  // Any other path under /batches is no page of the board's either.
  router.use('/batches', (_req, res) => notFound(res, 'page'));
  return router;
}

/** Write a piece and wait while the client is slower than Redis. */
function write(res: Response, chunk: string): Promise<void> {
  if (chunk === '' || res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
