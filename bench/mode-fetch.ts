/**
 * Mode fetch, the reference: one POST of the sandbox's login form for the session cookies, then a
 * `p-limit` loop of Node `fetch` calls on every render URL with that Cookie header, at the same
 * concurrency as the worker. Bodies are hashed in memory, nothing is written. The download phase
 * is the loop alone.
 */
import pLimit from 'p-limit';
import {
  downloadPhase,
  log,
  onCleanup,
  outcomeOf,
  renderUrl,
  type RunResult,
  sandboxFigures,
  sha256,
  startDownloadPhase,
} from './harness.ts';
import { watchRenderRequests } from './diagnostics.ts';
import { sandboxShape, type Options } from './options.ts';
import { sampleResources } from './resources.ts';
import { startSandboxProcess, type SandboxProcess } from './sandbox-process.ts';

const LOGIN_PATH = '/d2l/lp/auth/login/login.d2l';

export async function runPlainFetch(opts: Options): Promise<RunResult> {
  log(`plain fetch: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({
    certificates: opts.certificates,
    latencyMs: opts.latencyMs,
    ...sandboxShape(opts),
  });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  log(
    `plain fetch: ${expected.length} certificates, concurrency ${opts.concurrency}; bodies are hashed, not written`,
  );

  const sampler = sampleResources(100);
  const started = Date.now();
  const cookie = await webLogin(sandbox);
  const loginSeconds = (Date.now() - started) / 1000;
  const stopClock = startDownloadPhase(sampler);
  const limit = pLimit(opts.concurrency);
  const wrong: string[] = [];
  const requests = watchRenderRequests();
  let verified = 0;
  await Promise.all(
    expected.map((cert) =>
      limit(async () => {
        try {
          const res = await fetch(renderUrl(sandbox.url, cert), { headers: { cookie } });
          const body = new Uint8Array(await res.arrayBuffer());
          if (res.status !== 200) wrong.push(`${cert.issuedId}: HTTP ${res.status}`);
          else if (sha256(body) !== cert.sha256)
            wrong.push(`${cert.issuedId}: bytes differ from the sandbox's`);
          else verified++;
        } catch (err) {
          wrong.push(`${cert.issuedId}: ${(err as Error).message}`);
        }
      }),
    ),
  );
  const phase = stopClock();
  const requestTimes = requests.stop();
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();
  await closeSandbox();

  const problems =
    wrong.length > 0 ? [`${wrong.length} fetch(es) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  return {
    mode: 'plain fetch',
    concurrency: opts.concurrency,
    ...outcomeOf(expected, verified, problems, started, ended),
    download: downloadPhase(phase, verified),
    requestTimes,
    loginSeconds,
    resources,
    browser: false,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
  };
}

/** POST the sandbox's login form; returns the Cookie header with both session cookies. */
export async function webLogin(sandbox: SandboxProcess): Promise<string> {
  const res = await fetch(`${sandbox.url}${LOGIN_PATH}`, {
    method: 'POST',
    body: new URLSearchParams({
      userName: sandbox.env.LMS_USERNAME,
      password: sandbox.env.LMS_PASSWORD,
      d2l_referrer: '',
      noredirect: '1',
      loginPath: LOGIN_PATH,
    }),
    redirect: 'manual',
  });
  await res.arrayBuffer();
  const jar = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  for (const name of ['d2lSessionVal', 'd2lSecureSessionVal']) {
    if (!jar.get(name)) throw new Error(`the login answered ${res.status} without the ${name} cookie`);
  }
  return `d2lSessionVal=${jar.get('d2lSessionVal')}; d2lSecureSessionVal=${jar.get('d2lSecureSessionVal')}`;
}
