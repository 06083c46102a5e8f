import type { RedisConnection } from '../util/redis-nodes.ts';
import {
  ReauthRequiredError,
  SealedBoxError,
  TokenRequestRejectedError,
  TokenStoreError,
  type TokenProvider,
} from '../auth/index.ts';
import {
  checkChromiumStarts,
  LoginFailedError,
  BrowserLaunchError,
  type WebSession,
} from '../browser/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { FleetBreaker, PauseReason } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { claimOutputDir, OutputUnavailableError, type CertificateStore } from '../storage/index.ts';
import { sleep } from '../util/with-timeout.ts';
import { decide } from '../failure/failure-policy.ts';

export interface StartupCheckContext {
  redis: RedisConnection;
  tokens: TokenProvider;
  store: CertificateStore;
  /** QUEUE_PREFIX: recorded in OUTPUT_DIR's marker on first use, warned about when it differs. */
  queuePrefix: string;
  /** Present when downloads may need the web session (and so Chromium). */
  session: WebSession | undefined;
  chromiumPath: string | undefined;
  breaker: FleetBreaker;
  /** Pause for a decision: the fleet, or only this worker for a local fault. Default `breaker.trip`. */
  trip?: (trip: Parameters<FleetBreaker['trip']>[0]) => Promise<boolean>;
  logger: Logger;
  /** Give up on a transient failure (LMS or token endpoint down) after this long. Default 5 min. */
  transientWaitMs?: number;
}

/**
 * Fail fast before taking jobs (Redis was checked when it was connected): OUTPUT_DIR, the token store and the first token, Chromium.
 * OUTPUT_DIR is claimed for this LMS first (its marker): another LMS's folder throws
 * `OutputDirOtherLmsError` before anything is written there.
 * A configuration problem throws a `ConfigError` naming the variable (exit 2); a transient one is
 * retried with backoff. A fleet paused for a cause this process can see is gone (a token works now,
 * a browser starts, a probe login succeeds after a restart with a fixed password) is resumed.
 */
export async function checkBeforeStart(ctx: StartupCheckContext): Promise<void> {
  const log = ctx.logger.child({ component: 'startup' });
  try {
    const { outputDir, lmsHost, fileMode, dirMode } = ctx.store;
    await claimOutputDir(outputDir, { lmsHost, queuePrefix: ctx.queuePrefix, fileMode, dirMode }, log);
    await ctx.store.checkWritable();
  } catch (err) {
    if (err instanceof OutputUnavailableError) throw new ConfigError([`OUTPUT_DIR: ${err.message}`]);
    throw err;
  }
  const swept = await ctx.store.sweepPartials();
  if (swept > 0) log.info({ swept }, 'removed partial files left by a stopped worker');

  const token = await checkToken(ctx, log);

  if (ctx.session) {
    try {
      await checkChromiumStarts(ctx.chromiumPath);
    } catch (err) {
      if (err instanceof BrowserLaunchError) throw new ConfigError([`CHROMIUM_PATH: ${err.message}`]);
      throw err;
    }
  }

  let loginWorks = false;
  if (ctx.session && (await ctx.breaker.loginHold()) !== null) {
    // The one login this restart is allowed: an operator fixed the password and restarted us.
    try {
      await ctx.session.probeLogin();
      await ctx.breaker.releaseLogins();
      loginWorks = true;
    } catch (err) {
      if (err instanceof LoginFailedError) {
        throw new ConfigError([`LMS_USERNAME / LMS_PASSWORD: ${err.message}`]);
      }
      throw err;
    }
  }

  const pause = await ctx.breaker.current();
  if (!pause) return;
  log.warn({ pauseReason: pause.reason }, `the fleet is paused (${pause.reason}): ${pause.message}`);
  const gone: PauseReason[] = ['OUTPUT_UNAVAILABLE'];
  if (token !== 'sealed-shut') gone.push('SECRETS_KEY_MISMATCH');
  if (token === 'works') gone.push('AUTH_REFRESH_REFUSED', 'AUTH_CLIENT_REJECTED');
  if (ctx.session) gone.push('BROWSER_UNAVAILABLE');
  if (loginWorks) gone.push('LOGIN_REFUSED');
  if (await ctx.breaker.resumeIf(gone, 'startup')) log.warn('the cause of the pause is gone: fleet resumed');
}

/**
 * @returns 'works' when a token was obtained; 'dead' when the token is refused and 'sealed-shut'
 * when the store does not open with this SECRETS_KEY, the fleet paused for either (never a crash
 * loop: the worker starts, paused, and the fix resumes it).
 */
async function checkToken(ctx: StartupCheckContext, log: Logger): Promise<'works' | 'dead' | 'sealed-shut'> {
  try {
    await ctx.tokens.status();
  } catch (err) {
    if (err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable)) {
      const d = decide(err);
      if (d.action === 'pause') await (ctx.trip ?? ((t) => ctx.breaker.trip(t)))(d);
      return 'sealed-shut';
    }
    throw err;
  }
  const deadline = Date.now() + (ctx.transientWaitMs ?? 5 * 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.tokens.getAccessToken();
      return 'works';
    } catch (err) {
      if (err instanceof ReauthRequiredError) {
        if (err.reason === 'not-bootstrapped') {
          throw new ConfigError([
            'OAUTH_REFRESH_TOKEN: no refresh token is stored for this LMS and client; run `certharvest auth bootstrap` (or set OAUTH_REFRESH_TOKEN to a fresh one)',
          ]);
        }
        // The token died while nobody watched: start, paused, and resume once a new one is imported.
        const d = decide(err);
        if (d.action === 'pause') await ctx.breaker.trip(d);
        return 'dead';
      }
      if (err instanceof TokenRequestRejectedError) {
        throw new ConfigError([
          `OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE / OAUTH_KEY_ID): the token endpoint refused the client: ${err.message}`,
        ]);
      }
      if (Date.now() > deadline) throw err;
      const waitMs = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      log.warn({ err, attempt, waitMs }, 'could not get an access token yet; trying again');
      await sleep(waitMs);
    }
  }
}
