/**
 * What real Brightspace tenants do to a web session, taught to the sandbox behind knobs, and how the
 * fleet copes: two-factor logins, expiry in every form, Content-Type variants, a certificate the
 * service user may not see, a huge body, a redirect to another host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { partialFiles, sleepUntil } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from './harness.ts';
import type { DiscoverResult } from '../../src/queue/index.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const certsOf = (pipe: Pipeline, users: number[]) =>
  users.flatMap((u) => pipe.sandbox.institution.certificatesOf(u));

describe('a real tenant', () => {
  it('two-factor on: with LMS_TOTP_SECRET the login fills the code, once', async () => {
    p = await startPipeline({ knobs: { twoFactor: true } });
    expect(p.env.LMS_TOTP_SECRET).toBeTruthy();
    const users = studentsWithCertificates(p.sandbox, 4);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({
      certsFailed: 0,
      certsStored: certsOf(p, users).length,
    });
    expect(p.sandbox.stats.twoFactorPrompts).toBe(1);
    expect(p.sandbox.stats.twoFactorFailures).toBe(0);
  });

  it('two-factor on, no secret: the fleet pauses saying so, after one password post, no job failed', async () => {
    p = await startPipeline({ knobs: { twoFactor: true }, env: { LMS_TOTP_SECRET: '' } });
    const users = studentsWithCertificates(p.sandbox, 3);
    await p.submit({ users });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause).toMatchObject({ reason: 'LOGIN_REFUSED', fix: expect.stringMatching(/LMS_TOTP_SECRET/) });
    expect(pause.message).toMatch(/two-factor/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(p.sandbox.stats.twoFactorPrompts).toBe(1); // the password was posted once
    expect((await p.queues.download.getFailedCount()) + (await p.queues.discover.getFailedCount())).toBe(0);
  });

  it.each(['forbidden', 'redirect', 'unauthorized', 'login-page'] as const)(
    'expiry answered as %s: one login per expiry, every certificate stored',
    async (expiryStyle) => {
      p = await startPipeline({ knobs: { expiryStyle, sessionMaxRequests: 10 } });
      const users = studentsWithCertificates(p.sandbox, 12);
      const { batchId } = await p.submit({ users });
      const status = await p.waitDone(batchId);
      expect(status).toMatchObject({ certsFailed: 0, certsStored: certsOf(p, users).length });
      const expiries = p.sandbox.stats.sessionsExpired.maxRequests;
      expect(expiries).toBeGreaterThan(0);
      expect(p.sandbox.stats.webLogins).toBeLessThanOrEqual(expiries + 1);
    },
  );

  it.each(['application/octet-stream', 'none'] as const)(
    'a PDF served as %s is stored at once',
    async (type) => {
      p = await startPipeline({ knobs: { pdfContentType: type } });
      const users = studentsWithCertificates(p.sandbox, 3);
      const { batchId } = await p.submit({ users });
      expect(await p.waitDone(batchId)).toMatchObject({
        certsFailed: 0,
        certsStored: certsOf(p, users).length,
      });
      for (const job of await p.queues.download.getJobs(['completed'])) expect(job.attemptsMade).toBe(1);
    },
  );

  it('a certificate the service user may not see fails alone, saying so; the rest land', async () => {
    p = await startPipeline({ worker: false });
    const users = studentsWithCertificates(p.sandbox, 3);
    const forbidden = certsOf(p, users)[0]!;
    p.sandbox.setKnobs({ forbiddenIssuedIds: [forbidden.IssuedId] });
    await p.startWorker();
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ certsFailed: 1, certsStored: certsOf(p, users).length - 1 });
    expect(status.failures).toEqual([
      expect.objectContaining({
        code: 'CERTIFICATE_FORBIDDEN',
        reason: expect.stringMatching(/may not see/),
      }),
    ]);
    // What the board shows of it: the user's discover job (which downloaded the user's
    // certificates) lists it in its return value with the code and the reason, no stack of our
    // internals; it was not retried in a download job of its own.
    const discovered = await p.queues.discover.getJobs(['completed']);
    const failures = discovered.flatMap((j) => (j.returnvalue as DiscoverResult).failures ?? []);
    expect(failures).toEqual([
      {
        ref: expect.stringContaining(String(forbidden.IssuedId)),
        code: 'CERTIFICATE_FORBIDDEN',
        reason: expect.any(String),
      },
    ]);
    expect(failures[0]!.reason).not.toMatch(/\n\s+at /);
    expect(await p.queues.download.getJobs(['failed', 'completed', 'waiting', 'delayed'])).toEqual([]);
  });

  it('a 512 MiB body is cut at MAX_PDF_BYTES: that certificate fails once, memory stays bounded', async () => {
    p = await startPipeline({ worker: false });
    const users = studentsWithCertificates(p.sandbox, 3);
    const huge = certsOf(p, users)[0]!;
    p.sandbox.setKnobs({ hugeBodyIssuedIds: [huge.IssuedId], hugeBodyBytes: 512 * 1024 * 1024 });
    await p.startWorker();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const { batchId } = await p.submit({ users });
      const status = await p.waitDone(batchId);
      expect(status).toMatchObject({ certsFailed: 1, certsStored: certsOf(p, users).length - 1 });
      expect(status.failures[0]).toMatchObject({ code: 'PDF_TOO_LARGE' });
    } finally {
      clearInterval(sampler);
    }
    // Failed once, in its user's discover job: not retried eight times in a download job.
    expect(await p.queues.download.getJobs(['failed', 'completed', 'waiting', 'delayed'])).toEqual([]);
    const discovered = await p.queues.discover.getJobs(['completed']);
    const failures = discovered.flatMap((j) => (j.returnvalue as DiscoverResult).failures ?? []);
    expect(failures).toEqual([expect.objectContaining({ code: 'PDF_TOO_LARGE' })]);
    expect(peak).toBeLessThan(400 * 1024 * 1024);
    // The cut body went to a temp file, which was removed with the failure.
    expect(await partialFiles(p.outputDir)).toEqual([]);
  });

  it('a tenant newer than the client: the oldest newer API version, one warning, every certificate', async () => {
    p = await startPipeline({ worker: false, knobs: { newerApiVersions: true } });
    await p.startWorker();
    const users = studentsWithCertificates(p.sandbox, 4);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({
      usersFailed: 0,
      certsFailed: 0,
      certsStored: certsOf(p, users).length,
    });
    const warnings = p.logs.filter((l) => l.includes('newer than this client knows'));
    expect(warnings).toHaveLength(2); // lp and bas, once each for the process
    expect(warnings.join('\n')).toMatch(/using 1\.54[\s\S]*using 1\.5,/);
  });

  it.each([
    ['the registration lacks it', { pdfApiScopeMissing: true }, {}],
    [
      'the token was not asked for it',
      {},
      { OAUTH_SCOPE: 'core:*:* users:userdata:read awards:issued:read' },
    ],
  ])(
    'the /pdf route gated by a scope (%s): one warning naming it, every certificate via the web session',
    async (_name, knobs, env) => {
      p = await startPipeline({ worker: false, knobs: { pdfApi: true, ...knobs }, env });
      await p.startWorker();
      const users = studentsWithCertificates(p.sandbox, 3);
      const { batchId } = await p.submit({ users });
      expect(await p.waitDone(batchId)).toMatchObject({
        certsFailed: 0,
        certsStored: certsOf(p, users).length,
      });
      const warnings = p.logs.filter((l) => l.includes('for want of the scope'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/"awards:certificate:read".*auth bootstrap/);
      expect(p.sandbox.stats.pdfApi).toBe(0); // nothing came through the route
    },
  );

  it('the /pdf route with its scope (the default OAUTH_SCOPE): every certificate through it, no web login', async () => {
    p = await startPipeline({ worker: false, knobs: { pdfApi: true } });
    await p.startWorker();
    const users = studentsWithCertificates(p.sandbox, 3);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({
      certsFailed: 0,
      certsStored: certsOf(p, users).length,
    });
    expect(p.sandbox.stats.pdfApi).toBe(certsOf(p, users).length);
    expect(p.sandbox.stats.webLogins).toBe(0);
    expect(p.logs.filter((l) => l.includes('for want of the scope'))).toEqual([]);
  });

  it('LP_VERSION and BAS_VERSION win over the negotiation', async () => {
    p = await startPipeline({
      worker: false,
      knobs: { newerApiVersions: true },
      env: { LP_VERSION: '1.56', BAS_VERSION: '1.6' },
    });
    await p.startWorker();
    const users = studentsWithCertificates(p.sandbox, 2);
    const { batchId } = await p.submit({ users });
    expect(await p.waitDone(batchId)).toMatchObject({ usersFailed: 0, certsFailed: 0 });
    expect(p.logs.filter((l) => /newer than this client knows|not among/.test(l))).toEqual([]);
    expect(p.sandbox.stats.routes['GET /d2l/api/bas/:version/issued/users/:userId']).toBeGreaterThan(0);
  });

  it('a redirect to another host is not followed: no cookie leaves the LMS', async () => {
    p = await startPipeline({ worker: false });
    const users = studentsWithCertificates(p.sandbox, 3);
    const moved = certsOf(p, users)[0]!;
    p.sandbox.setKnobs({ offHostRedirectIssuedIds: [moved.IssuedId] });
    await p.startWorker();
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status.failures).toEqual([expect.objectContaining({ code: 'REDIRECT_OFF_HOST' })]);
    expect(p.sandbox.stats.offHostCookies).toBe(0);
    expect(p.sandbox.stats.offHostRequests).toBe(0);
  });

  it.each([
    [
      'a terms-of-use page after the login',
      { termsInterstitial: true },
      {},
      /stopped at \/d2l\/lp\/auth\/terms/,
    ],
    [
      'an SSO redirect from the login URL',
      { ssoRedirect: true },
      { LMS_LOGIN_URL: '/d2l/login' },
      /SSO redirect/,
    ],
  ] as const)('%s: the fleet pauses with what was seen, no job failed', async (_name, knobs, env, seen) => {
    p = await startPipeline({ knobs, env });
    await p.submit({ users: studentsWithCertificates(p.sandbox, 2) });
    const pause = await sleepUntil(() => p!.breaker.current(), 40_000);
    expect(pause).toMatchObject({ reason: 'LOGIN_REFUSED', message: expect.stringMatching(seen) });
    expect((await p.queues.download.getFailedCount()) + (await p.queues.discover.getFailedCount())).toBe(0);
  });
});
