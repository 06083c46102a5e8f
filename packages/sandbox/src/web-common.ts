import type { Request, Response } from 'express';

export function sendHtml(res: Response, status: number, html: string): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(html);
}

/** Only same-site paths may be a login target (no `//host` or `/\host` open redirects). */
export function safeTarget(value: Request['query'][string] | unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^\/(?![/\\])/.test(value) ? value : undefined;
}

/** `/d2l/login`, with the page to come back to. */
export function loginUrl(target: string, extra = ''): string {
  return `/d2l/login?${extra}target=${encodeURIComponent(target)}`;
}
