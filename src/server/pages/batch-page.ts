/** A batch's page: its figures, its links, the cancel and retry buttons, its failures. */
import { isFinal, type BatchFailure, type BatchStatus } from '../../queue/index.ts';
import { count, elapsed, time } from './figures.ts';
import { html, type SafeHtml } from './html.ts';
import { NOTICES, type Notice } from './notices.ts';
import { batchUrl, figure, progressBar, stateLabel, table } from './widgets.ts';

export interface BatchPageInput {
  status: BatchStatus;
  failures: { total: number; failures: readonly BatchFailure[] };
  notice?: Notice | undefined;
  readOnly: boolean;
  now: number;
}

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
  return html`${table('failures', ['Kind', 'Reference', 'Code', 'Reason', 'At (UTC)'], rows)}
  ${
    failures.total > shown
      ? html`<p class="note">
          The first ${count(shown)} of ${count(failures.total)} failures;
          <a href="${csv}">the manifest CSV</a> has every one.
        </p>`
      : null
  }`;
}

/** The title, the notice a POST left, and the batches this one retries or is retried by. */
function heading(s: BatchStatus, notice: Notice | undefined): SafeHtml {
  const n = notice ? NOTICES[notice] : null;
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
    }`;
}

/** The progress bar and the three cards: certificates, users, time. */
function overview(s: BatchStatus, now: number): SafeHtml {
  const settled = s.certsStored + s.certsAlreadyStored + s.certsFailed;
  return html`<div class="overview">
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
    </div>`;
}

/** The manifest's link, and Cancel or Retry where the board may and the batch can. */
function actions(s: BatchStatus, readOnly: boolean, csv: string): SafeHtml {
  const canCancel = !readOnly && s.state === 'running';
  const canRetry = !readOnly && isFinal(s.state) && s.usersFailed + s.certsFailed > 0;
  return html`<div class="actions">
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
  </div>`;
}

export function batchPage({ status: s, failures, notice, readOnly, now }: BatchPageInput): SafeHtml {
  const csv = batchUrl(s.batchId, '/certificates.csv');
  return html`${heading(s, notice)} ${overview(s, now)} ${actions(s, readOnly, csv)}
    <h2 class="section">Failures <span class="muted">(${count(failures.total)})</span></h2>
    ${failuresTable(failures, csv)}`;
}
