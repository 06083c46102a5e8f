import type { BrowserContext } from 'playwright';
import { onCleanup } from './harness.ts';

/**
 * Chromium (the product's `launchChromium`), one context, logged in to the sandbox through its
 * form as a person would: what the Playwright modes start from. The browser closes with the
 * bench's cleanup (call the returned `close` to close it earlier).
 */
export async function loggedInContext(sandbox: {
  url: string;
  env: { LMS_USERNAME: string; LMS_PASSWORD: string };
}): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { launchChromium } = await import('../src/browser/index.ts');
  const browser = await launchChromium(process.env.CHROMIUM_PATH);
  const close = onCleanup(() => browser.close());
  const context = await browser.newContext({ acceptDownloads: false });
  const page = await context.newPage();
  await page.goto(`${sandbox.url}/d2l/login?noredirect=1`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name="userName"]', sandbox.env.LMS_USERNAME);
  await page.fill('input[name="password"]', sandbox.env.LMS_PASSWORD);
  await Promise.all([
    page.waitForURL(
      (u) => !u.pathname.startsWith('/d2l/lp/auth/login') && !u.pathname.startsWith('/d2l/login'),
      { waitUntil: 'domcontentloaded' },
    ),
    page.click('button[type="submit"], input[type="submit"]'),
  ]);
  await page.close();
  return { context, close };
}
