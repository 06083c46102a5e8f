import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { KnobBox } from './knobs.ts';
import type { AuthServer } from './oauth.ts';
import type { SandboxStats } from './stats.ts';
import { valenceRouter, type ValenceDeps } from './valence.ts';
import { webRouter, type WebDeps } from './web.ts';
import { notFoundPage } from './html.ts';

export interface AppDeps extends ValenceDeps, WebDeps {
  knobs: KnobBox;
  stats: SandboxStats;
  auth: AuthServer;
  /** Aborted on close, so pending latency sleeps end with the server. */
  closing: AbortSignal;
}

/** The whole sandbox on one port: OAuth (oidc-provider), Valence under /d2l/api, the web UI. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(unreachable(deps.knobs, deps.stats));
  app.use(countRoutes(deps.stats));
  app.use(latency(deps.knobs, deps.closing));
  app.use((req, res, next) => (deps.auth.owns(req.path) ? deps.auth.handle(req, res) : next()));
  app.use('/d2l/api', valenceRouter(deps));
  app.use(webRouter(deps));
  app.use((_req, res) => {
    res.status(404).type('html').send(notFoundPage());
  });
  app.use(errorHandler);
  return app;
}

/** The `unreachable` knob: cut the connection before a byte of any response, as a dead LMS would. */
export function unreachable(knobs: KnobBox, stats: SandboxStats): RequestHandler {
  return (req, _res, next) => {
    if (!knobs.current.unreachable) return next();
    stats.unreachableRequests++;
    req.socket.destroy();
  };
}

/** A certificate's answer: the render URL, or the bearer `/pdf` route. */
const CERTIFICATE_PATH = /\/certificate\/render\/|\/pdf$/;

export function latency(knobs: KnobBox, closing: AbortSignal): RequestHandler {
  // Every request in flight waits on `closing`: many listeners is the design, not a leak.
  setMaxListeners(0, closing);
  return async (req, _res, next) => {
    const { latencyMs: ms, latencyCertificatesOnly } = knobs.current;
    if (ms > 0 && (!latencyCertificatesOnly || CERTIFICATE_PATH.test(req.path))) {
      try {
        await sleep(ms, undefined, { signal: closing });
      } catch {
        return; // the sandbox is closing; the connection is being cut anyway
      }
    }
    next();
  };
}

/** Per-route counters, keyed by the matched route pattern once the response is over. */
export function countRoutes(
  stats: SandboxStats,
  routeOfRequest: (req: Request) => string = routeOf,
): RequestHandler {
  return (req, res, next) => {
    // 'close', not 'finish': a PDF cut short by the truncation knob never finishes.
    res.once('close', () => {
      const key = `${req.method} ${routeOfRequest(req)}`;
      stats.routes[key] = (stats.routes[key] ?? 0) + 1;
    });
    next();
  };
}

function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  const path = req.originalUrl.split('?')[0] ?? '';
  // oidc-provider's own routes: collapse the interaction uid of the resume URL.
  if (path.startsWith('/oauth2/') || path.startsWith('/core/connect/') || path.startsWith('/.well-known/')) {
    return path.replace(/^\/oauth2\/auth\/[^/]+$/, '/oauth2/auth/:uid');
  }
  // Answered by the Valence gate (injected 5xx, 429, 401) before any route matched.
  if (path.startsWith('/d2l/api/')) return '/d2l/api/* (before routing)';
  return '(unmatched)';
}

const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  console.error(`sandbox: ${req.method} ${req.originalUrl} failed:`, err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (req.originalUrl.startsWith('/d2l/api/')) {
    res.status(500).json({ Errors: [{ Message: 'Internal Server Error' }] });
  } else {
    res.status(500).type('html').send('<h1>500 Internal Server Error</h1>');
  }
};
