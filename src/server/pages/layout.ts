/** The page around a body: the top bar, the stylesheet and the CSP that allows exactly it. */
import { createHash } from 'node:crypto';
import { html, SafeHtml } from './html.ts';
import { REFRESH_SECONDS } from './options.ts';
import { CSS } from './styles.ts';

export interface Chrome {
  /** The `<style>` element (with the env label's colour) and the CSP that allows exactly it. */
  style: SafeHtml;
  csp: string;
  env?: { label: string; color: string } | undefined;
  readOnly: boolean;
}

/** What `page` puts around a body: its title, which link of the top bar is current, a reload. */
export interface PageParts {
  title: string;
  body: SafeHtml;
  current: 'list' | 'batch';
  refresh?: string;
}

export function chrome(options: { env?: { label: string; color: string }; readOnly: boolean }): Chrome {
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

export function page(c: Chrome, p: PageParts): string {
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

/** A page that only says something: a title and a line. */
export const messagePage = (title: string, text: string): SafeHtml =>
  html`<p class="crumbs"><a href="/batches">Batches</a> /</p>
    <h1>${title}</h1>
    <p class="lead">${text}</p>`;
