/** The pieces both pages are made of: a batch's link, its state, its progress bar, a figure. */
import type { BatchStatus } from '../../queue/index.ts';
import { progressOf } from './figures.ts';
import { html, type HtmlValue, type SafeHtml } from './html.ts';

export const batchUrl = (batchId: string, tail = ''): string =>
  `/batches/${encodeURIComponent(batchId)}${tail}`;

export const stateLabel = (s: BatchStatus): SafeHtml =>
  html`<span class="state state-${s.state}">${s.state}</span>`;

export function progressBar(s: BatchStatus): SafeHtml {
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

/** One labelled figure of a card. */
export const figure = (label: string, value: HtmlValue, cls = ''): SafeHtml =>
  html`<div class="fig${cls ? ` ${cls}` : ''}">
    <dt>${label}</dt>
    <dd>${value}</dd>
  </div>`;

/** A column of a table: its heading, and its class (`num` for figures). */
export type Column = string | { label: string; cls: string };

/** A table with its heading row: class `cls`, the columns' headings, then the rows. */
export function table(cls: string, columns: readonly Column[], rows: HtmlValue): SafeHtml {
  const head = columns.map((c) =>
    typeof c === 'string' ? html`<th>${c}</th>` : html`<th class="${c.cls}">${c.label}</th>`,
  );
  return html`<table class="${cls}">
    <thead>
      <tr>
        ${head}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
