/** The list page: the recent batches, newest first, one row each. */
import { isFinal, type BatchStatus } from '../../queue/index.ts';
import { count, elapsed, time } from './figures.ts';
import { html, type SafeHtml } from './html.ts';
import { REFRESH_SECONDS } from './options.ts';
import { batchUrl, progressBar, stateLabel, table } from './widgets.ts';

const tookCell = (s: BatchStatus, now: number): SafeHtml =>
  html`${isFinal(s.state) ? null : 'running for '}<span class="nowrap">${elapsed(s, now)}</span>`;

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

function batchesTable(batches: readonly BatchStatus[], now: number): SafeHtml {
  if (batches.length === 0) {
    return html`<p class="empty">
      No batch yet (batches are kept 30 days). Submit one with <code>certharvest submit</code> or
      <code>POST /api/batches</code>.
    </p>`;
  }
  const num = (label: string, cls = 'num') => ({ label, cls });
  return table(
    'batches',
    [
      'Batch',
      'State',
      'Progress',
      num('Users'),
      num('Found'),
      num('Stored'),
      num('Already stored', 'num short'),
      num('Failed'),
      'Started (UTC)',
      'Took',
    ],
    batches.map((b) => batchRow(b, now)),
  );
}

export function listPage(batches: readonly BatchStatus[], now: number, limit: number): SafeHtml {
  const running = batches.some((b) => !isFinal(b.state));
  return html`<h1>Batches</h1>
    <p class="lead">
      The ${limit} most recent, newest first.
      ${running ? html`This page reloads every ${REFRESH_SECONDS} s while a batch runs.` : null} Stored:
      downloaded by the batch; already stored: on disk before it.
    </p>
    ${batchesTable(batches, now)}`;
}
