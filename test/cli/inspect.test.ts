/**
 * `certharvest inspect` against the sandbox: what certharvest reads for one user, through the
 * fleet's token and web session, on a page that matches and on one that does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ worker: false });
});
afterAll(() => p?.close());

describe('inspect (Brightspace)', () => {
  it('shows the awards listing and what the /pdf route and the render answer for one certificate', async () => {
    const [user] = studentsWithCertificates(p.sandbox, 1);
    const cert = p.sandbox.institution.certificatesOf(user!)[0]!;
    const run = await runCli(['inspect', '--user', String(user)], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`is UserId ${user}`);
    expect(run.stdout).toMatch(
      new RegExp(`certificate +IssuedId ${cert.IssuedId}, org unit ${cert.OrgUnitId}`),
    );
    expect(run.stdout).toMatch(/\/pdf route: not offered \(HTTP 404\)/);
    expect(run.stdout).toMatch(/render \/d2l\/awards\/v1\/\d+\/certificate\/render\/\d+: HTTP 200,.*a PDF/s);
    for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    const json = await runCli(['inspect', '--user', String(user), '--json'], { ...p.env, LOG_LEVEL: 'warn' });
    const data = JSON.parse(json.stdout) as {
      matched: boolean;
      certificate: { issuedId: number; render: { status: number; looksLikePdf: boolean } };
    };
    expect(data.matched).toBe(true);
    expect(data.certificate.issuedId).toBe(cert.IssuedId);
    expect(data.certificate.render).toMatchObject({ status: 200, looksLikePdf: true });
    // Nothing secret in what it prints.
    for (const secret of [p.env.LMS_PASSWORD!, p.env.OAUTH_CLIENT_SECRET!]) {
      expect(run.stdout + json.stdout).not.toContain(secret);
    }
  });

  it('says so, and exits 1, when the user has no certificate to probe', async () => {
    const none = p.sandbox.institution.students.find(
      (s) => p.sandbox.institution.certificatesOf(s.UserId).length === 0,
    )!;
    const run = await runCli(['inspect', '--user', String(none.UserId)], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/no certificate to probe/);
  });

  it('a malformed --user is a usage error (exit 2)', async () => {
    const run = await runCli(['inspect', '--user', 'userName:'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--user/);
  });
});
