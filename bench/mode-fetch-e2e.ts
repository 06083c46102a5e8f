/**
 * Mode fetch-e2e, the end-to-end reference: a plain loop that discovers as well as downloads, as
 * one would write it by hand against Brightspace.
 *
 *   1. At once: one POST of the login form (the session cookies), one refresh-token grant at the
 *      token endpoint (client_secret_basic, the sandbox's OAUTH_* settings: the bearer token), and
 *      `GET /d2l/api/versions/` (the latest lp and bas versions).
 *   2. `GET /d2l/api/lp/(v)/users/`, page after page (`PagingInfo.Bookmark`): every user listed
 *      is handed to the award listings at once, while the next page is asked for.
 *   3. Per user, `GET /d2l/api/bas/(v)/issued/users/(userId)/?includeExpired=true&limit=200` (the
 *      worker's page size), following
 *      `Next` (absolute or relative), at most `--discover-concurrency` users at a time (the
 *      worker's DISCOVER_CONCURRENCY, 4 by default): each certificate (AwardType 2) is handed to
 *      the downloads as soon as its page is read.
 *   4. Each render URL with the session cookie, at most `--concurrency` at a time (the worker's
 *      DOWNLOAD_CONCURRENCY); bodies hashed in memory, nothing written.
 *
 * This is what certharvest-e2e does with a whole-institution batch (`allUsers`): list the users,
 * list their awards, download. End to end is from the start of step 1 to the last certificate.
 */
import pLimit from 'p-limit';
import { AWARDS_PAGE_LIMIT } from '../src/lms/brightspace/index.ts';
import {
  log,
  onCleanup,
  outcomeOf,
  renderUrl,
  type RunResult,
  sandboxFigures,
  sha256,
  startClock,
  wholeBatch,
} from './harness.ts';
import { watchRenderRequests } from './diagnostics.ts';
import { webLogin } from './mode-fetch.ts';
import { sandboxShape, type Options } from './options.ts';
import { sampleResources } from './resources.ts';
import { startSandboxProcess, type SandboxProcess } from './sandbox-process.ts';

const CERTIFICATE = 2;

export async function runFetchE2e(opts: Options): Promise<RunResult> {
  log(`fetch e2e: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({
    certificates: opts.certificates,
    latencyMs: opts.latencyMs,
    ...sandboxShape(opts),
  });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  const byIssuedId = new Map(expected.map((c) => [c.issuedId, c]));
  const discoverConcurrency = opts.discoverConcurrency ?? (await productDiscoverConcurrency());
  log(
    `fetch e2e: ${sandbox.userCount + 2} users to list, ${expected.length} certificates; award listings ` +
      `${discoverConcurrency} at a time, downloads ${opts.concurrency} at a time; bodies are hashed, not written`,
  );

  const sampler = sampleResources(100);
  const stopClock = startClock(sampler);
  const started = Date.now();
  const [cookie, bearer, versions] = await Promise.all([
    webLogin(sandbox),
    accessToken(sandbox),
    latestVersions(sandbox.url),
  ]);
  const loginSeconds = (Date.now() - started) / 1000;
  const api = new Valence(sandbox.url, bearer);
  const discover = pLimit(discoverConcurrency);
  const download = pLimit(opts.concurrency);
  const wrong: string[] = [];
  const requests = watchRenderRequests();
  const seen = new Set<number>();
  const work: Promise<void>[] = [];
  let verified = 0;
  let users = 0;

  const fetchCertificate = async (orgUnitId: number, issuedId: number) => {
    try {
      const want = byIssuedId.get(issuedId);
      const res = await fetch(renderUrl(sandbox.url, { orgUnitId, issuedId }), { headers: { cookie } });
      const body = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) wrong.push(`${issuedId}: HTTP ${res.status}`);
      else if (!want) wrong.push(`${issuedId}: a certificate the sandbox's list does not hold`);
      else if (sha256(body) !== want.sha256) wrong.push(`${issuedId}: bytes differ from the sandbox's`);
      else verified++;
    } catch (err) {
      wrong.push(`${issuedId}: ${(err as Error).message}`);
    }
  };
  const listAwards = async (userId: number) => {
    try {
      // The same page size the worker asks for (AWARDS_PAGE_LIMIT): one call per user for both.
      let next: string | null =
        `/d2l/api/bas/${versions.bas}/issued/users/${userId}/?includeExpired=true&limit=${AWARDS_PAGE_LIMIT}`;
      while (next) {
        const page = (await api.get(next)) as {
          Next: string | null;
          Objects: { IssuedId: number; OrgUnitId: number; Award: { AwardType: number } }[];
        };
        for (const award of page.Objects) {
          if (award.Award.AwardType !== CERTIFICATE || seen.has(award.IssuedId)) continue;
          seen.add(award.IssuedId);
          work.push(download(() => fetchCertificate(award.OrgUnitId, award.IssuedId)));
        }
        next = page.Next;
      }
    } catch (err) {
      wrong.push(`user ${userId}: ${(err as Error).message}`);
    }
  };
  // The users' listing is one chain of pages (a bookmark is needed for the next): it runs beside
  // the award listings, one page in flight, each user handed over as its page arrives.
  try {
    let bookmark: string | undefined;
    for (;;) {
      const query: string = bookmark === undefined ? '' : `?bookmark=${encodeURIComponent(bookmark)}`;
      const page = (await api.get(`/d2l/api/lp/${versions.lp}/users/${query}`)) as {
        PagingInfo: { Bookmark: string; HasMoreItems: boolean };
        Items: { UserId: number }[];
      };
      for (const user of page.Items) {
        users++;
        work.push(discover(() => listAwards(user.UserId)));
      }
      if (!page.PagingInfo.HasMoreItems) break;
      bookmark = page.PagingInfo.Bookmark;
    }
  } catch (err) {
    wrong.push(`users' listing: ${(err as Error).message}`);
  }
  // Every download is pushed by an award listing that is itself in `work`: wait until no more come.
  for (let done = 0; done < work.length;) {
    const upTo = work.length;
    await Promise.all(work.slice(done, upTo));
    done = upTo;
  }
  const clock = stopClock();
  const requestTimes = requests.stop();
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();
  await closeSandbox();

  const problems =
    wrong.length > 0 ? [`${wrong.length} request(s) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  if (seen.size !== expected.length)
    problems.push(`the loop found ${seen.size} certificates, the sandbox holds ${expected.length}`);
  return {
    mode: 'fetch e2e',
    concurrency: opts.concurrency,
    ...outcomeOf(expected, verified, problems, started, ended),
    download: null,
    wholeBatch: wholeBatch(clock, verified, null),
    requestTimes,
    loginSeconds,
    resources,
    browser: false,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    notes: [
      `${users} users listed (${Math.ceil(users / 10)} pages, one at a time), their awards ${discoverConcurrency} users ` +
        `at a time, downloads ${opts.concurrency} at a time; logins (form POST, refresh-token grant) ` +
        `${loginSeconds.toFixed(2)} s, inside end to end`,
    ],
  };
}

/** The worker's default DISCOVER_CONCURRENCY, from the product's config schema. */
async function productDiscoverConcurrency(): Promise<number> {
  const { envSchema } = await import('../src/config/schema.ts');
  return envSchema.shape.DISCOVER_CONCURRENCY.parse(undefined);
}

/** A refresh-token grant at the sandbox's token endpoint (client_secret_basic): the access token. */
async function accessToken(sandbox: SandboxProcess): Promise<string> {
  const env = sandbox.env;
  const basic = Buffer.from(
    `${encodeURIComponent(env.OAUTH_CLIENT_ID)}:${encodeURIComponent(env.OAUTH_CLIENT_SECRET)}`,
  ).toString('base64');
  const res = await fetch(env.OAUTH_TOKEN_URL, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: env.OAUTH_REFRESH_TOKEN,
      scope: env.OAUTH_SCOPE,
    }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  if (!res.ok || !body.access_token)
    throw new Error(`the token endpoint answered ${res.status}: ${body.error ?? 'no access_token'}`);
  return body.access_token;
}

/** `GET /d2l/api/versions/` (public): the latest lp and bas versions. */
async function latestVersions(lmsUrl: string): Promise<{ lp: string; bas: string }> {
  const res = await fetch(`${lmsUrl}/d2l/api/versions/`);
  const products = (await res.json()) as { ProductCode: string; LatestVersion: string }[];
  const latest = (code: string) => {
    const p = products.find((x) => x.ProductCode === code);
    if (!p) throw new Error(`/d2l/api/versions/ names no ${code} product`);
    return p.LatestVersion;
  };
  return { lp: latest('lp'), bas: latest('bas') };
}

/** Valence GETs with the bearer token; a 429 or 5xx is retried after Retry-After (up to 5 times). */
class Valence {
  constructor(
    private readonly base: string,
    private readonly bearer: string,
  ) {}

  async get(pathOrUrl: string): Promise<unknown> {
    const url = new URL(pathOrUrl, this.base);
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${this.bearer}` } });
      if (res.ok) return res.json();
      await res.arrayBuffer();
      if ((res.status === 429 || res.status >= 500) && attempt < 5) {
        const wait = Number(res.headers.get('retry-after') ?? '1');
        await new Promise((r) => setTimeout(r, Math.max(0, wait) * 1000));
        continue;
      }
      throw new Error(`GET ${url.pathname}: HTTP ${res.status}`);
    }
  }
}
