import { BRIGHTSPACE_WEB_PROFILE } from '../../src/lms/brightspace/web-profile.ts';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserLogin } from '../../src/browser/browser-login.ts';
import { BrowserFailedError } from '../../src/browser/errors.ts';
import { createLogger } from '../../src/log/index.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';

/** Chromium processes this test process launched (its direct children named chrom*). */
function chromiumChildren(): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when there is none
  }
  return out
    .split('\n')
    .filter(Boolean)
    .filter((pid) => {
      try {
        return execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).includes('chrom');
      } catch {
        return false;
      }
    })
    .map(Number);
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ userCount: 4, knobs: { latencyMs: 40 } });
});
afterAll(async () => {
  await sandbox.close();
});

describe('BrowserLogin when Chromium dies mid-login', () => {
  // On a browser SIGKILLed right after launch, Playwright may leave `context.newPage()` pending
  // for good. Every login must still settle, and the next one must launch a new browser.
  it('settles every login (logged in, or BrowserFailedError) and launches again', async () => {
    const login = new BrowserLogin({
      lmsUrl: sandbox.env.LMS_URL,
      username: sandbox.env.LMS_USERNAME,
      password: () => sandbox.env.LMS_PASSWORD,
      profile: BRIGHTSPACE_WEB_PROFILE,
      logger: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
      timeouts: { launch: 8_000, login: 3_000, close: 2_000 },
    });
    const outcomes: string[] = [];
    try {
      for (let round = 0; round < 6; round++) {
        const launchesBefore = login.stats.launches;
        const attempt = login.login().then(
          () => 'logged-in',
          (err: unknown) => (err instanceof BrowserFailedError ? 'browser-failed' : `other: ${String(err)}`),
        );
        // Kill the browser a little after it has started: during the context, page or form steps.
        const killed = (async () => {
          while (login.stats.launches === launchesBefore) await new Promise((r) => setTimeout(r, 5));
          await new Promise((r) => setTimeout(r, round * 25));
          for (const pid of chromiumChildren()) process.kill(pid, 'SIGKILL');
        })();
        outcomes.push(await attempt);
        await killed;
      }
      // A login after the crashes works on a freshly launched browser.
      const after = await login.login();
      expect(after.cookies.length).toBeGreaterThan(0);
    } finally {
      await login.close();
    }
    expect(outcomes.filter((o) => o !== 'logged-in' && o !== 'browser-failed')).toEqual([]);
    expect(outcomes).toContain('browser-failed');
    expect(login.stats.launches).toBeGreaterThanOrEqual(7);
  }, 120_000);
});
