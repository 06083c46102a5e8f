/** What `certharvest auth session import|capture|status` do, loaded when they run (help: auth-session.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSessionStore, sessionLock } from '../../assembly/web-session.ts';
import { chromiumLaunchOptions, importStorageState } from '../../browser/index.ts';
import { loadConfig } from '../../config/index.ts';
import { UsageError } from '../../errors/index.ts';
import { openContext } from '../context.ts';

export interface CaptureOptions {
  out?: string;
  remoteDebuggingPort?: number;
}

export async function runCapture(opts: CaptureOptions): Promise<void> {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    throw new UsageError(
      'auth session capture needs a display (DISPLAY is not set): capture the state on a desktop with ' +
        '`certharvest auth session capture --out state.json` (or Playwright codegen --save-storage) and run ' +
        '`certharvest auth session import state.json` here',
    );
  }
  const config = loadConfig({ needs: ['lms', 'secrets-key'] });
  const { chromium } = await import('playwright');
  const dir = await mkdtemp(path.join(tmpdir(), 'certharvest-capture-'));
  const out = opts.out ?? path.join(dir, 'state.json');
  const launch = chromiumLaunchOptions(config.chromiumPath);
  const browser = await chromium.launch({
    ...launch,
    headless: false,
    args: [
      ...(launch.args ?? []),
      ...(opts.remoteDebuggingPort ? [`--remote-debugging-port=${opts.remoteDebuggingPort}`] : []),
    ],
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(new URL(config.webSession.profile.loginPath, `${config.lms.url}/`).toString());
    console.log(
      `Log in as the service user in the browser window; close the window when you see ${config.webSession.profile.landingPath}.`,
    );
    await page.waitForEvent('close', { timeout: 0 });
    await context.storageState({ path: out });
  } finally {
    await browser.close().catch(() => {});
  }
  await importFile(out);
  if (!opts.out) await rm(dir, { recursive: true, force: true });
}

export async function runStatus(opts: { json?: boolean }): Promise<void> {
  const { store, breaker, close } = await openSessionStore();
  try {
    const record = await store.read();
    const held = await breaker.loginHold();
    const facts = record
      ? {
          generation: record.generation,
          obtainedAt: new Date(record.obtainedAt).toISOString(),
          source: record.source,
          cookies: record.cookies.length,
          loginsHeldBack: held,
        }
      : { generation: 0, loginsHeldBack: held };
    if (opts.json) console.log(JSON.stringify(facts, null, 2));
    else if (!record) console.log('no web session yet: the first download that needs one logs in.');
    else
      console.log(
        `web session: generation ${record.generation}, obtained ${facts.obtainedAt} by ${record.source === 'import' ? 'an import' : 'a worker login'}, ${record.cookies.length} cookie(s) (sealed)` +
          (held ? `\nlogins are held back: ${held}` : ''),
      );
  } finally {
    await close();
  }
}

async function openSessionStore() {
  const ctx = await openContext(['lms', 'secrets-key'], { quiet: true });
  const store = createSessionStore(ctx.config, ctx.redis);
  const lock = sessionLock(ctx.redis, store);
  return { config: ctx.config, store, breaker: ctx.breaker, lock, close: () => ctx.close() };
}

/** Import a storage state as the fleet's session; a fleet paused for a refused login resumes on it. */
export async function importFile(file: string): Promise<void> {
  const { config, store, lock, breaker, close } = await openSessionStore();
  try {
    const record = await importStorageState({
      file,
      lmsUrl: config.lms.url,
      landingPath: config.webSession.profile.landingPath,
      store,
      lock,
    });
    console.log(
      `imported ${record.cookies.length} cookie(s) for ${config.lms.host} as the fleet's web session ` +
        `(generation ${record.generation}); ${config.webSession.profile.landingPath} answers as a logged-in user.`,
    );
    if (await breaker.resumeIf(['LOGIN_REFUSED'], 'auth session import')) {
      console.log('The fleet was paused for a refused login: it resumes on this session.');
    }
    console.log('When it expires, a worker logs in with LMS_USERNAME/LMS_PASSWORD, or import a new one.');
  } finally {
    await close();
  }
}
