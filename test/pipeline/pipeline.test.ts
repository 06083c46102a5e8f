import { createHash } from 'node:crypto';
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialFiles } from '../helpers/index.ts';
import { startPipeline, type Pipeline } from './harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(() => p?.close());

/**
 * The certificates a person sees in OUTPUT_DIR: every file but the temp-file area `.partial/`
 * (checked apart), the folder's marker and the batch manifests (`_batches/`).
 */
async function storedFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const user of await readdir(dir).catch(() => [])) {
    if (user === '.partial') {
      expect(await partialFiles(dir)).toEqual([]);
      continue;
    }
    if (user === '.certharvest-output.json' || user === '_batches') continue;
    for (const f of await readdir(path.join(dir, user))) out.push(`${user}/${f}`);
  }
  return out.sort();
}

describe('a batch end to end (sandbox, real Redis, real Chromium)', () => {
  it('lands every certificate of 30 users with the exact bytes, and no badge', async () => {
    const { institution } = p.sandbox;
    const users = institution.students.slice(0, 30).map((s) => s.UserId);
    const expected = users.flatMap((u) => institution.certificatesOf(u).map((c) => ({ user: u, c })));
    const badges = users.flatMap((u) => institution.awardsOf(u)).filter((a) => a.Award.AwardType === 1);
    expect(expected.length).toBeGreaterThan(20);
    expect(badges.length).toBeGreaterThan(0);

    const lookupsBefore = p.sandbox.stats.routes['GET /d2l/api/lp/:version/users/:userId'] ?? 0;
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    // Users given by id are not looked up: their awards listing is the first call.
    expect(p.sandbox.stats.routes['GET /d2l/api/lp/:version/users/:userId'] ?? 0).toBe(lookupsBefore);
    expect(status).toMatchObject({
      usersTotal: 30,
      usersDone: 30,
      usersFailed: 0,
      certsFound: expected.length,
      certsStored: expected.length,
      certsFailed: 0,
      badgesIgnored: badges.length,
    });

    const files = await storedFiles(p.outputDir);
    expect(files).toEqual(
      expected
        .flatMap(({ user, c }) => [
          `${user}/${c.OrgUnitId}-${c.IssuedId}.json`,
          `${user}/${c.OrgUnitId}-${c.IssuedId}.pdf`,
        ])
        .sort(),
    );
    for (const { user, c } of expected) {
      const pdf = await readFile(path.join(p.outputDir, String(user), `${c.OrgUnitId}-${c.IssuedId}.pdf`));
      expect(sha(pdf)).toBe(sha(await p.sandbox.certificatePdf(c.IssuedId)));
      const meta = JSON.parse(
        await readFile(path.join(p.outputDir, String(user), `${c.OrgUnitId}-${c.IssuedId}.json`), 'utf8'),
      );
      expect(meta).toMatchObject({
        userId: user,
        orgUnitId: c.OrgUnitId,
        issuedId: c.IssuedId,
        awardId: c.Award.AwardId,
        title: c.Award.Title,
        sha256: sha(pdf),
        bytes: pdf.length,
        source: 'browser',
      });
      expect(meta.issuedDate).toBe(new Date(`${c.IssuedDate.slice(1)}Z`).toISOString());
    }
    // One web login served the whole batch; no badge was ever fetched.
    expect(p.sandbox.stats.webLogins).toBe(1);
    expect(p.sandbox.stats.renderPdf).toBe(expected.length);
  });

  it('each finished job logs one summary line to the board (a Redis call a line)', async () => {
    // The discover jobs downloaded their users' certificates: no download job was needed.
    expect(await p.queues.download.getJobs(['completed', 'failed'])).toEqual([]);
    const discovered = await p.queues.discover.getJobs(['completed']);
    expect(discovered.length).toBeGreaterThan(0);
    for (const job of discovered.slice(0, 5)) {
      const { logs } = await p.queues.discover.getJobLogs(job.id!);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/\d+ certificate\(s\): \d+ stored, \d+ already stored, 0 failed/);
    }
  });

  it('downloads nothing when the same batch is submitted again', async () => {
    const before = p.sandbox.stats.renderPdf;
    const users = p.sandbox.institution.students.slice(0, 30).map((s) => s.UserId);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status.certsStored).toBe(0);
    expect(status.certsAlreadyStored).toBe(status.certsFound);
    expect(status.certsFound).toBeGreaterThan(20);
    expect(p.sandbox.stats.renderPdf).toBe(before);
  });

  it('fails an unknown user and a malformed id alone, with reasons, and completes the rest', async () => {
    const { institution } = p.sandbox;
    const good = institution.students.slice(30, 34);
    const expected = good.reduce((n, s) => n + institution.certificatesOf(s.UserId).length, 0);
    const { batchId, rejected } = await p.submit({
      users: [...good.map((s) => s.UserId), 999999, '12; DROP'],
    });
    expect(rejected).toHaveLength(1);
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({
      usersTotal: 6,
      usersDone: 4,
      usersFailed: 2,
      certsStored: expected,
      certsFailed: 0,
    });
    const byRef = Object.fromEntries(status.failures.map((f) => [f.ref, f]));
    expect(byRef['userId 999999']).toMatchObject({ code: 'LMS_USER_NOT_FOUND' });
    expect(byRef['userId 999999']?.reason).toMatch(/999999/);
    expect(byRef['12; DROP']).toMatchObject({ code: 'USER_REF_MALFORMED' });
  });

  it('resolves users by userName and orgDefinedId', async () => {
    const { institution } = p.sandbox;
    const [a, b] = [institution.students[34]!, institution.students[35]!];
    const byName = await p.submit({ by: 'userName', users: [a.UserName] });
    const byOrg = await p.submit({ by: 'orgDefinedId', users: [b.OrgDefinedId] });
    expect((await p.waitDone(byName.batchId)).usersDone).toBe(1);
    expect((await p.waitDone(byOrg.batchId)).usersDone).toBe(1);
    expect((await p.tracker.status(byName.batchId))?.certsFound).toBe(
      institution.certificatesOf(a.UserId).length,
    );
  });
  it('leaves expired certificates out with filters.includeExpired false (--skip-expired); the default harvests them', async () => {
    const { institution } = p.sandbox;
    const users = institution.students
      .filter((s) => institution.certificatesOf(s.UserId).some((c) => institution.isExpired(c)))
      .map((s) => s.UserId);
    const all = users.flatMap((u) => institution.certificatesOf(u));
    const expired = all.filter((c) => institution.isExpired(c));
    expect(expired.length).toBeGreaterThan(0);

    // Counted, not stored-or-not: earlier tests may already hold some of these users' files.
    const skipping = await p.submit({ users, filters: { includeExpired: false } });
    expect(await p.waitDone(skipping.batchId)).toMatchObject({
      usersDone: users.length,
      certsFound: all.length - expired.length,
      certsFailed: 0,
    });
    const everything = await p.submit({ users });
    expect(await p.waitDone(everything.batchId)).toMatchObject({
      usersDone: users.length,
      certsFound: all.length,
      certsFailed: 0,
    });
    for (const c of expired) {
      await access(path.join(p.outputDir, String(c.UserId), `${c.OrgUnitId}-${c.IssuedId}.pdf`));
    }
  });
});
