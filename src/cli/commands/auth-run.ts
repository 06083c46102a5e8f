/** What `certharvest auth bootstrap|jwks|status` do, loaded when they run (options and help: auth.ts). */
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { createFleetTokens, createWebSession } from '../../assembly/fleet.ts';
import {
  authorizeThroughSession,
  beginAuthorization,
  isLoopbackUrl,
  type AuthorizationRequest,
  publicJwks,
  ReauthRequiredError,
  type TokenProvider,
  type TokenStatus,
} from '../../auth/index.ts';
import { loadConfig } from '../../config/index.ts';
import { UsageError } from '../../errors/index.ts';
import type { FleetBreaker, PauseRecord } from '../../fleet/index.ts';
import { withTimeout } from '../../util/with-timeout.ts';
import { readKeepAliveHealth, type KeepAliveHealth } from '../../worker/token-keepalive.ts';
import { openContext, type CommandContext } from '../context.ts';
import { describePause } from '../pause-report.ts';

export interface BootstrapOptions {
  refreshToken?: string;
  redirectUri?: string;
  paste?: boolean;
  viaSession?: boolean;
  port?: string;
  timeout: string;
}

export async function runBootstrap(opts: BootstrapOptions): Promise<void> {
  const port = opts.port === undefined ? undefined : Number(opts.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new UsageError(`--port: expected 0-65535, got "${opts.port}"`);
  const ways = [opts.refreshToken !== undefined, opts.paste === true, opts.viaSession === true];
  if (ways.filter(Boolean).length > 1)
    throw new UsageError('--refresh-token, --paste and --via-session are different ways: pick one');
  const given = opts.refreshToken === '-' ? await readTokenFromStdin() : opts.refreshToken;
  const ctx = await openContext(['lms', 'secrets-key'], { quiet: true, browser: true });
  try {
    const { config, breaker } = ctx;
    const auth = config.lms.auth;
    if (auth.kind !== 'refresh-token') {
      throw new UsageError(
        `AUTH_MODE=${auth.mode}: client credentials need no bootstrap (the worker gets its own tokens)` +
          (given === undefined ? '' : '; --refresh-token does not apply'),
      );
    }
    const provider = await createFleetTokens(config, ctx.redis, ctx.logger);
    const before = await breaker.current();
    if (given !== undefined) {
      console.log(describe(await importGivenToken(provider, given, opts.refreshToken === '-')));
      await resumeAfterNewToken(breaker, before);
      return;
    }
    const redirectUri =
      opts.redirectUri ?? (port !== undefined ? `http://127.0.0.1:${port}/callback` : auth.redirectUri);
    const authorization = {
      authorizeUrl: auth.authorizeUrl,
      clientId: auth.clientId,
      scope: auth.scope,
      lmsUrl: config.lms.url,
    };
    const timeoutMs = Number(opts.timeout) * 1000 || 300_000;
    let signedIn: { request: AuthorizationRequest; callback: string };
    if (opts.viaSession) {
      signedIn = await signInViaSession(ctx, { ...authorization, redirectUri });
    } else if (opts.paste || !isLoopbackUrl(redirectUri)) {
      signedIn = await signInByPaste({ ...authorization, redirectUri }, timeoutMs);
    } else {
      signedIn = await signInOnLoopback({ ...authorization, redirectUri }, port, timeoutMs);
    }
    console.log(describe(await provider.exchangeAuthorizationCode(signedIn.request, signedIn.callback)));
    await resumeAfterNewToken(breaker, before);
  } finally {
    await ctx.close();
  }
}

export async function runJwks(): Promise<void> {
  const config = loadConfig({ needs: ['lms'] });
  const auth = config.lms.auth;
  if (auth.kind !== 'private-key-jwt') {
    throw new UsageError(
      'auth jwks is for AUTH_MODE=client-credentials with a private-key JWT (OAUTH_PRIVATE_KEY_FILE); ' +
        `this configuration authenticates the client with ${auth.kind === 'refresh-token' ? 'a client secret' : 'HTTP Basic key:secret'}`,
    );
  }
  console.log(JSON.stringify(await publicJwks(auth.privateKeyFile, auth.keyId), null, 2));
}

export async function runStatus(opts: { json?: boolean }): Promise<void> {
  const { config, provider, breaker, redis, close } = await openProvider();
  try {
    const status = await provider.status();
    const pause = await breaker.current();
    const keepAlive = await readKeepAliveHealth(redis, config.queuePrefix);
    // What the fleet spent of the LMS's own budgets (its module says, when it has one).
    const usage = await config.lms.site.usage?.(redis, config.queuePrefix);
    if (opts.json) {
      console.log(
        JSON.stringify(
          { ...status, keepAlive, ...(usage ? { [usage.key]: usage.value } : {}), fleetPause: pause },
          null,
          2,
        ),
      );
    } else {
      console.log(
        describe(status) +
          `\n${describeKeepAlive(keepAlive, config.keepAlive !== undefined)}` +
          (usage ? `\n${usage.line}` : '') +
          (pause ? `\n\n${describePause(pause)}` : ''),
      );
    }
  } finally {
    await close();
  }
}

function describe(status: TokenStatus): string {
  const lines = [
    `mode:            ${status.mode}`,
    `state:           ${status.state}${status.reauthReason ? ` (${status.reauthReason})` : ''}`,
    `token store:     ${status.storeKey} (encrypted with SECRETS_KEY)`,
  ];
  if (status.expiresAt) lines.push(`access expires:  ${status.expiresAt.toISOString()}`);
  if (status.obtainedAt) lines.push(`last refreshed:  ${status.obtainedAt.toISOString()}`);
  if (status.refreshCount !== undefined) lines.push(`refreshes:       ${status.refreshCount}`);
  lines.push(`refresh token:   ${status.hasRefreshToken ? 'stored' : 'none'}`);
  if (status.scope) lines.push(`scope:           ${status.scope}`);
  if (status.state === 'not-bootstrapped' || status.state === 'reauth-required') {
    lines.push(
      '',
      'Run `certharvest auth bootstrap` (or `auth bootstrap --refresh-token -` with the token on stdin).',
    );
  }
  return lines.join('\n');
}

/** The keep-alive's lines of `auth status`: interval, last rotation and its health, next one. */
function describeKeepAlive(health: KeepAliveHealth, configured: boolean): string {
  if (!configured)
    return 'keep-alive:      off (TOKEN_KEEPALIVE=off): an idle refresh token may expire through disuse';
  if (health.everyMs === undefined)
    return 'keep-alive:      not scheduled yet (it starts with the first worker)';
  const lines = [
    `keep-alive:      every ${formatDuration(health.everyMs)} (${health.runs} rotations so far)`,
  ];
  if (health.last) {
    lines.push(
      `last rotation:   ${health.last.at.toISOString()} ${health.last.ok ? 'ok' : `FAILED: ${health.last.error ?? 'unknown error'}`}`,
    );
  }
  if (health.next) lines.push(`next rotation:   ${health.next.toISOString()}`);
  return lines.join('\n');
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

async function openProvider() {
  const ctx = await openContext(['lms', 'secrets-key'], { quiet: true });
  const provider = await createFleetTokens(ctx.config, ctx.redis, ctx.logger);
  return {
    config: ctx.config,
    provider,
    breaker: ctx.breaker,
    redis: ctx.redis,
    close: () => ctx.close(),
  };
}

const TOKEN_PAUSES = ['AUTH_REFRESH_REFUSED', 'SECRETS_KEY_MISMATCH'] as const;

/**
 * A working token is back: lift a pause that was about the token (the fleet resumes at once).
 * `before` is the pause seen before the token was stored; the workers' monitor may have resumed
 * the fleet in between, which is just as good.
 */
async function resumeAfterNewToken(breaker: FleetBreaker, before: PauseRecord | null): Promise<void> {
  const resumed = await breaker.resumeIf(TOKEN_PAUSES, 'auth bootstrap');
  if (resumed || (before && (TOKEN_PAUSES as readonly string[]).includes(before.reason))) {
    const now = await breaker.current();
    console.log(
      now
        ? `\nThe fleet is still paused, for another reason:\n${describePause(now)}`
        : '\nThe fleet was paused for its token: it is resumed and picks up where it stopped.',
    );
  }
}

/** Wait for the browser to come back to http://127.0.0.1:<port><pathname>; resolves with that URL. */
function awaitCallback(
  port: number,
  pathname: string,
  timeoutMs: number,
): { ready: Promise<number>; callback: Promise<string> } {
  let resolveCallback!: (url: string) => void;
  const callback = new Promise<string>((r) => (resolveCallback = r));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== pathname) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('certharvest: sign-in received. You can close this window.\n');
    resolveCallback(url.toString());
  });
  const ready = new Promise<number>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new UsageError(`--port ${port}: cannot listen on 127.0.0.1 (${err.message})`)),
    );
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
  return {
    ready,
    callback: withTimeout(callback, timeoutMs, 'the sign-in').finally(() => server.close()),
  };
}

/** `--refresh-token -`: the token from stdin (one line, trimmed), so it stays out of shell history. */
async function readTokenFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Paste the refresh token, then press Enter and Ctrl-D:\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '')
    throw new UsageError(
      '--refresh-token -: stdin was empty; pipe the token in, e.g. printf %s "$TOKEN" | certharvest auth bootstrap --refresh-token -',
    );
  if (/\s/.test(token))
    throw new UsageError('--refresh-token -: stdin holds more than one word; give the refresh token alone');
  return token;
}

/**
 * Import the token an admin gave. When the LMS refuses it, say it was that token (exit 2), not
 * "the stored token", and never print it.
 */
async function importGivenToken(provider: TokenProvider, token: string, fromStdin: boolean) {
  try {
    return await provider.importRefreshToken(token);
  } catch (err) {
    if (!(err instanceof ReauthRequiredError)) throw err;
    throw new UsageError(
      `the LMS refused the refresh token given ${fromStdin ? 'on stdin' : 'with --refresh-token'} (invalid_grant). ` +
        'It was already used or rotated, revoked, expired through disuse, or issued to another client ' +
        '(OAUTH_CLIENT_ID) or another LMS (LMS_URL). Get a new one, or run `certharvest auth bootstrap` to sign in.',
    );
  }
}

interface SignInOptions {
  authorizeUrl: string;
  clientId: string;
  scope: string;
  redirectUri: string;
  lmsUrl: string;
}

/** Loopback: listen on the redirect URI's port and path, print the URL, wait for the browser. */
async function signInOnLoopback(options: SignInOptions, port: number | undefined, timeoutMs: number) {
  const uri = new URL(options.redirectUri);
  const waiting = awaitCallback(port ?? (Number(uri.port) || 80), uri.pathname, timeoutMs);
  const boundPort = await waiting.ready;
  uri.port = String(boundPort);
  const request = await beginAuthorization({ ...options, redirectUri: uri.href });
  console.log('Open this URL in a browser and sign in as the service user:\n');
  console.log(`  ${request.url}\n`);
  console.log(`Waiting for the redirect to ${uri.href} …`);
  return { request, callback: await waiting.callback };
}

/**
 * Paste mode: print the URL; the admin signs in anywhere and pastes back the URL the browser was
 * redirected to (an error page at an https:// URI nothing serves is expected).
 */
async function signInByPaste(options: SignInOptions, timeoutMs: number) {
  const request = await beginAuthorization(options);
  console.log('1. Open this URL in a browser and sign in as the service user:\n');
  console.log(`  ${request.url}\n`);
  console.log(`2. The browser is sent to ${options.redirectUri}?code=… (a page that may not load).`);
  console.log('   Copy that whole URL from the address bar and paste it here, then press Enter:');
  const callback = await withTimeout(readRedirectFromStdin(options.redirectUri), timeoutMs, 'the pasted URL');
  return { request, callback };
}

/** The first stdin line that is the redirect URI with its answer (`code` or `error`). */
async function readRedirectFromStdin(redirectUri: string): Promise<string> {
  const expected = new URL(redirectUri);
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      let url: URL;
      try {
        url = new URL(line);
      } catch {
        throw new UsageError(
          `the pasted text is not a URL; paste the whole address starting with ${redirectUri}`,
        );
      }
      if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
        throw new UsageError(
          `the pasted URL is not the redirect URI (${redirectUri}); paste the address the browser was sent to`,
        );
      }
      if (!url.searchParams.has('code') && !url.searchParams.has('error')) {
        throw new UsageError(
          'the pasted URL carries no code= (nor error=): copy the whole address after signing in',
        );
      }
      return url.href;
    }
  } finally {
    lines.close();
  }
  throw new UsageError('stdin ended before a URL was pasted');
}

/** --via-session: the fleet's web session (the service user's login) walks the consent. */
async function signInViaSession(ctx: CommandContext<'lms' | 'secrets-key'>, options: SignInOptions) {
  const webLogin = ctx.config.webLogin;
  if (!webLogin) {
    throw new UsageError(
      "--via-session needs the service user's web login: set LMS_USERNAME and LMS_PASSWORD",
    );
  }
  const session = createWebSession({
    config: ctx.config,
    webLogin,
    redis: ctx.redis,
    breaker: ctx.breaker,
    logger: ctx.logger.child({ component: 'browser' }),
  });
  try {
    console.log(`Signing in as ${webLogin.username} through the LMS web session …`);
    return await authorizeThroughSession(session, {
      ...options,
      // The LMS module's consent page (the registry's choice), answered once as the service user.
      ...(ctx.config.lms.site.consent ? { consent: ctx.config.lms.site.consent } : {}),
      logger: ctx.logger.child({ component: 'auth' }),
    });
  } finally {
    await session.close();
  }
}
