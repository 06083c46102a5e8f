// Playwright settings shared by anything that drives a browser here. certharvest itself launches
// Chromium through src/browser/chromium.ts (one place for the flags); this file hands the same
// launch options to a Playwright test runner, should one be added. Playwright never downloads a
// browser on these machines: CHROMIUM_PATH (default /usr/bin/chromium) is always used.
import { chromiumLaunchOptions } from './src/browser/chromium.ts';

export default {
  testDir: './test/e2e',
  timeout: 60_000,
  use: {
    browserName: 'chromium' as const,
    headless: true,
    launchOptions: chromiumLaunchOptions(process.env.CHROMIUM_PATH),
  },
};
