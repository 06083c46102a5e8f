/**
 * `certharvest inspect` against the sandbox: what certharvest reads for one user, through the
 * fleet's token and web session, on a page that matches and on one that does not.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learnUuid } from '@certharvest/sandbox/learn';
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

describe('inspect (Learn, a site whose pages differ from the default)', () => {
  let learn: Pipeline;
  beforeAll(async () => {
    learn = await startPipeline({
      lms: 'blackboard',
      worker: false,
      knobs: { learnMarkup: 'table', learnIds: 'mixed' },
    });
  });
  afterAll(() => learn?.close());

  const target = () => {
    const { institution } = learn.sandbox;
    const student = institution.students.find((s) => institution.certificatesOf(s.UserId).length > 0)!;
    const cert = institution.certificatesOf(student.UserId)[0]!;
    return { student, cert, course: learnUuid(institution.seed, 'course', cert.OrgUnitId) };
  };

  it("a listing URL that is not the site's: says what the page answered (exit 1)", async () => {
    const { student, course } = target();
    const run = await runCli(['inspect', '--user', `userName:${student.UserName}`, '--course', course], {
      ...learn.env,
      LOG_LEVEL: 'warn',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/the listing page could not be read: .*404/);
    expect(run.stdout).toMatch(/achievements\.url/);
  });

  it('the right page with markup the profile does not fit: nothing matches (exit 1), and the candidates show what the page offers', async () => {
    const { student, course } = target();
    // The admin's first try: the page's address, seen in a browser; the default markup.
    const run = await runCli(['inspect', '--user', `userName:${student.UserName}`, '--course', course], {
      ...learn.env,
      BB_ACHIEVEMENTS_URL: '/webapps/bb-achievements/course/{courseId}/user/{userId}/earned',
      LOG_LEVEL: 'warn',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/item selector "li\.achievement": 0 item\(s\)/);
    expect(run.stdout).toMatch(/candidates/);
    expect(run.stdout).toMatch(/@data-record-id/);
    expect(run.stdout).toMatch(/link\(s\) \/webapps\/bb-achievements\/files\//);
    expect(run.stdout).toMatch(/nothing harvestable matched: fit LMS_SITE_PROFILE/);
  });

  it('with the fitted profile file: the certificate, its fields, its link, and the link answers a PDF (exit 0)', async () => {
    const { student, cert, course } = target();
    const profile = path.resolve(import.meta.dirname, '../../docs/examples/learn-table-profile.yaml');
    const env = { ...learn.env, LMS_SITE_PROFILE: profile, LOG_LEVEL: 'warn' };
    const run = await runCli(['inspect', '--user', `userName:${student.UserName}`, '--course', course], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/#\d+ certificate/);
    expect(run.stdout).toMatch(/download: http:\/\/127\.0\.0\.1:\d+\/webapps\/bb-achievements\/files\//);
    expect(run.stdout).toMatch(/link \/webapps\/bb-achievements\/files\/.*HTTP 200.*a PDF/);
    const json = await runCli(
      ['inspect', '--user', `userName:${student.UserName}`, '--course', course, '--json'],
      env,
    );
    const data = JSON.parse(json.stdout) as {
      matched: boolean;
      pages: { items: { outcome: string; fields: { id?: { value: unknown } } }[] }[];
    };
    expect(data.matched).toBe(true);
    const ids = data.pages[0]!.items.filter((i) => i.outcome === 'certificate').map(
      (i) => i.fields.id?.value,
    );
    expect(ids).toContain(cert.IssuedId % 2 === 0 ? `_${cert.IssuedId}_4` : `_${cert.IssuedId}_1`);
    expect(run.stdout + json.stdout).not.toContain(learn.env.LMS_PASSWORD!);

    const other = await runCli(
      ['inspect', '--user', `userName:${student.UserName}`, '--course', course, '--issued-id', '_999_1'],
      env,
    );
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/no certificate with id _999_1 on these pages/);
  });
});
