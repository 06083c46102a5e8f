/**
 * Mode playwright (off by default): Chromium launched with the product's `launchChromium`, a login
 * by filling the form on a page, then a `p-limit` loop of `context.request.get` on every render
 * URL. This was the worker's download primitive before downloads moved to plain HTTP with the
 * fleet's cookies; it stays for comparison. Bodies are hashed in memory and every response is
 * disposed. The download phase is the loop alone.
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
import { sandboxShape, type Options } from './options.ts';
import { loggedInContext } from './browser-login.ts';
import { sampleResources } from './resources.ts';
import { startSandboxProcess } from './sandbox-process.ts';

export async function runPlaywright(opts: Options): Promise<RunResult> {
  log(`playwright: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({
    certificates: opts.certificates,
    latencyMs: opts.latencyMs,
    ...sandboxShape(opts),
  });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  log(
    `playwright: ${expected.length} certificates through context.request, concurrency ${opts.concurrency}; ` +
      'bodies are hashed, not written',
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
        const sent = performance.now();
        try {
          const res = await context.request.get(renderUrl(sandbox.url, cert), { failOnStatusCode: false });
          const body = await res.body();
          await res.dispose();
          if (res.status() !== 200) wrong.push(`${cert.issuedId}: HTTP ${res.status()}`);
          else if (sha256(body) !== cert.sha256)
            wrong.push(`${cert.issuedId}: bytes differ from the sandbox's`);
          else verified++;
          durations.push(performance.now() - sent);
        } catch (err) {
          wrong.push(`${cert.issuedId}: ${(err as Error).message.split('\n')[0]}`);
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
    wrong.length > 0 ? [`${wrong.length} request(s) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  return {
    mode: 'context.request',
    concurrency: opts.concurrency,
    ...outcomeOf(expected, verified, problems, started, ended),
    download: downloadPhase(phase, verified),
    requestTimes: durationStats(durations),
    loginSeconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
  };
}
