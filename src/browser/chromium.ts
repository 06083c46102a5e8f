import { existsSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright';
import { BrowserLaunchError } from './errors.ts';

/** The system Chromium Debian installs; Playwright never downloads a browser on these machines. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Every flag Chromium needs to run headless here, in one place. Background networking, sync and
 * component updates are off because the machines' closed network refuses those connections
 * (and a worker has no use for them); the sandbox is only needed (and only dropped) as root.
 */
let sandboxWanted = true;

/** CHROMIUM_NO_SANDBOX, from the configuration (environment or .env): called once at start. */
export function useChromiumSandbox(wanted: boolean): void {
  sandboxWanted = wanted;
}

export function chromiumArgs(): string[] {
  const args = [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-dev-shm-usage',
    '--metrics-recording-only',
    '--mute-audio',
  ];
  // Root cannot use the sandbox; CHROMIUM_NO_SANDBOX is the explicit switch for containers whose
  // seccomp profile forbids it (set from the parsed config by `useChromiumSandbox`).
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root || !sandboxWanted) args.push('--no-sandbox');
  return args;
}

/**
 * The executable to launch: `CHROMIUM_PATH` when given, else the system Chromium, else
 * `undefined` (Playwright's own browser, if a user installed one).
 */
export function resolveChromiumPath(configured?: string): string | undefined {
  if (configured) return configured;
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return existsSync(DEFAULT_CHROMIUM_PATH) ? DEFAULT_CHROMIUM_PATH : undefined;
}

export function chromiumLaunchOptions(executablePath?: string, timeoutMs = 30_000): LaunchOptions {
  const resolved = resolveChromiumPath(executablePath);
  return {
    headless: true,
    args: chromiumArgs(),
    timeout: timeoutMs,
    // The worker owns shutdown: Playwright must not close the browser (or exit) on a signal
    // while active downloads drain; WebSession.close() closes it last.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    ...(resolved ? { executablePath: resolved } : {}),
  };
}

/** Launch headless Chromium with the flags above; a clear error when no browser is installed. */
export async function launchChromium(executablePath?: string, timeoutMs = 30_000): Promise<Browser> {
  const options = chromiumLaunchOptions(executablePath, timeoutMs);
  try {
    return await chromium.launch(options);
  } catch (err) {
    const where = options.executablePath ?? "Playwright's bundled Chromium";
    throw new BrowserLaunchError(where, launchFailure((err as Error).message), { cause: err });
  }
}

/** Start Chromium and close it again: throws `BrowserLaunchError` when it cannot start. */
export async function checkChromiumStarts(executablePath?: string): Promise<void> {
  const browser = await launchChromium(executablePath);
  await browser.close().catch(() => {});
}

/**
 * Playwright's first line says little ("browser has been closed"); Chromium's own reason, such as
 * "No usable sandbox!", is further down in the browser log it quotes. Keep both, briefly.
 */
function launchFailure(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines[0] ?? 'unknown error';
  const reason = lines.slice(1).find((l) => /sandbox|error|fatal|cannot|failed/i.test(l) && !/^=+/.test(l));
  return reason ? `${first} — ${reason.replace(/^\[[^\]]*\]\s*/, '').slice(0, 300)}` : first;
}
