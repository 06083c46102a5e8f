/**
 * Mode naive-playwright: what a first script with a browser does. Chromium launched with the
 * product's `launchChromium`, one login by filling the form on a page, then one new page per
 * certificate in that logged-in context, `--concurrency` pages at a time, each closed after.
 *
 * On current Chromium `page.goto` on a PDF answers the PDF viewer's HTML (a few hundred bytes),
 * and `page.waitForResponse(...).body()` gives the same: the viewer takes the stream. So each page
 * routes its render URL: `route.fetch()` makes the request with the context's cookies (through
 * Playwright's request client, in this Node process), the bytes are kept, and
 * `route.fulfill({ response })` hands the same answer to the page, which then loads the viewer as
 * it would have. `page.goto` returns once the viewer is there. Bytes hashed in memory, nothing
 * written. Run on `--naive-certificates` certificates (default 300): one page each is slow.
 */
import pLimit from 'p-limit';
import {
  downloadPhase,
  durationStats,
  log,
  onCleanup,
  outcomeOf,
  renderUrl,
  type RunResult,
  sandboxFigures,
  sha256,
  startDownloadPhase,
} from './harness.ts';
import type { Options } from './options.ts';
import { loggedInContext } from './browser-login.ts';
import { sampleResources } from './resources.ts';
import { startSandboxProcess } from './sandbox-process.ts';

export async function runNaivePlaywright(opts: Options): Promise<RunResult> {
  log(`naive playwright: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({
    certificates: opts.naiveCertificates,
    latencyMs: opts.latencyMs,
  });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  log(
    `naive playwright: ${expected.length} certificates, a new page each, ${opts.concurrency} pages at a time; ` +
      'bytes captured with page.route + route.fetch, hashed, not written',
  );

  const sampler = sampleResources(100);
  const started = Date.now();
  const { context, close: closeBrowser } = await loggedInContext(sandbox);
  const loginSeconds = (Date.now() - started) / 1000;

  const stopClock = startDownloadPhase(sampler);
  const limit = pLimit(opts.concurrency);
  const wrong: string[] = [];
  const durations: number[] = [];
  let verified = 0;
  await Promise.all(
    expected.map((cert) =>
      limit(async () => {
        const url = renderUrl(sandbox.url, cert);
        const sent = performance.now();
        const page = await context.newPage();
        try {
          let captured: { status: number; body: Buffer } | undefined;
          await page.route(url, async (route) => {
            const response = await route.fetch();
            captured = { status: response.status(), body: await response.body() };
            await route.fulfill({ response });
          });
          await page.goto(url, { waitUntil: 'load' });
          if (!captured) wrong.push(`${cert.issuedId}: the route never saw the request`);
          else if (captured.status !== 200) wrong.push(`${cert.issuedId}: HTTP ${captured.status}`);
          else if (sha256(captured.body) !== cert.sha256)
            wrong.push(`${cert.issuedId}: bytes differ from the sandbox's`);
          else verified++;
          durations.push(performance.now() - sent);
        } catch (err) {
          wrong.push(`${cert.issuedId}: ${(err as Error).message.split('\n')[0]}`);
        } finally {
          await page.close().catch(() => {});
        }
      }),
    ),
  );
  const phase = stopClock();
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();
  await closeBrowser();
  await closeSandbox();

  const problems =
    wrong.length > 0 ? [`${wrong.length} page(s) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  return {
    mode: 'naive playwright',
    concurrency: opts.concurrency,
    ...outcomeOf(expected, verified, problems, started, ended),
    download: downloadPhase(phase, verified),
    requestTimes: durationStats(durations),
    loginSeconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    notes: [
      `${expected.length} certificates (--naive-certificates), not ${opts.certificates}: a new page each; bytes ` +
        "captured by page.route → route.fetch() (Playwright's request client, the context's cookies) → " +
        'route.fulfill({ response }) so the page still loads the PDF viewer; page.goto alone returns the ' +
        "viewer's HTML",
    ],
  };
}
