import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import { CertificateStore } from '../../src/storage/index.ts';
import { sleepUntil } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from './harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(() => p?.close());

describe("a batch's manifest (sandbox, real Redis, real worker)", () => {
  it('lists every certificate with its user, title, path and the sha256 of the file on disk', async () => {
    const { institution } = p.sandbox;
    const users = studentsWithCertificates(p.sandbox, 4);
    const { batchId } = await p.submit({ users: [...users, 987654] });
    const status = await p.waitDone(batchId);
    expect(status.state).toBe('done-with-failures');

    const manifest = (await p.tracker.manifest(batchId, 0, 10_000))!;
    const certRows = manifest.rows.filter((r) => r.kind === 'certificate');
    const expected = users.flatMap((u) => institution.certificatesOf(u).map((c) => ({ u, c })));
    expect(manifest.total).toBe(expected.length + 1);
    expect(certRows).toHaveLength(expected.length);
    for (const { u, c } of expected) {
      const row = certRows.find((r) => r.userId === u && r.issuedId === c.IssuedId);
      expect(row, `a row for ${u}/${c.IssuedId}`).toMatchObject({
        userRef: `userId:${u}`,
        orgUnitId: c.OrgUnitId,
        title: c.Award.Title,
        status: 'stored',
        path: `${u}/${c.OrgUnitId}-${c.IssuedId}.pdf`,
      });
      const onDisk = await readFile(path.join(p.outputDir, row!.path!));
      expect(row!.sha256).toBe(sha(onDisk));
      expect(row!.sha256).toBe(sha(await p.sandbox.certificatePdf(c.IssuedId)));
      expect(row!.bytes).toBe(onDisk.length);
    }
    expect(manifest.rows.find((r) => r.kind === 'user')).toMatchObject({
      userRef: 'userId:987654',
      status: 'failed',
      code: 'LMS_USER_NOT_FOUND',
    });

    // By user name: the rows carry the name, and what is on disk is "already stored", with its path.
    const student = institution.students.find((s) => s.UserId === users[0])!;
    const again = await p.submit({ by: 'userName', users: [student.UserName] });
    expect((await p.waitDone(again.batchId)).state).toBe('done');
    const rows = (await p.tracker.manifest(again.batchId))!.rows;
    expect(rows.length).toBe(institution.certificatesOf(student.UserId).length);
    for (const row of rows) {
      expect(row).toMatchObject({
        userRef: `userName:${student.UserName}`,
        userName: student.UserName,
        userId: student.UserId,
        status: 'already-stored',
      });
      expect(row.sha256).toBe(sha(await readFile(path.join(p.outputDir, row.path!))));
    }
  });

  it('refresh keeps the stored file while the new download is cut short, and replaces it with a whole one', async () => {
    const [user] = studentsWithCertificates(p.sandbox, 12).slice(10);
    const award = p.sandbox.institution.certificatesOf(user!)[0]!;
    const certificate: Certificate = {
      userId: user!,
      orgUnitId: award.OrgUnitId,
      issuedId: award.IssuedId,
      awardId: award.Award.AwardId,
      title: award.Award.Title,
      issuedDate: award.IssuedDate,
    };
    // An older version of the certificate is stored (another PDF, its sidecar vouching for it).
    const doc = await PDFDocument.create();
    doc.addPage().drawText('an older certificate');
    const older = await doc.save();
    const store = new CertificateStore(p.outputDir, { lmsHost: new URL(p.env.LMS_URL!).host });
    const saved = await store.save(certificate, older, 'api');
    expect(saved.status).toBe('stored');

    // A plain batch takes it as already stored.
    const plain = await p.submit({ users: [user!], filters: { orgUnitIds: [award.OrgUnitId] } });
    expect((await p.waitDone(plain.batchId)).certsAlreadyStored).toBeGreaterThan(0);
    expect(sha(await readFile(saved.path))).toBe(sha(older));

    // A refresh fetches it again; every new copy is cut short: the old file stays.
    p.sandbox.setKnobs({ truncateRate: 1 });
    const truncatedBefore = p.sandbox.stats.truncated;
    const refresh = await p.submit({
      users: [user!],
      refresh: true,
      filters: { orgUnitIds: [award.OrgUnitId] },
    });
    await sleepUntil(() => p.sandbox.stats.truncated > truncatedBefore + 1, 60_000, 100);
    expect(sha(await readFile(saved.path))).toBe(sha(older));
    expect((await p.tracker.status(refresh.batchId))?.done).toBe(false);

    // The LMS serves it whole again: the retry replaces the file, atomically, with the new bytes.
    p.sandbox.setKnobs({ truncateRate: 0 });
    const status = await p.waitDone(refresh.batchId, 120_000);
    expect(status).toMatchObject({ state: 'done', refresh: true });
    expect(status.certsStored).toBeGreaterThan(0);
    const fresh = sha(await p.sandbox.certificatePdf(award.IssuedId));
    expect(sha(await readFile(saved.path))).toBe(fresh);
    const row = (await p.tracker.manifest(refresh.batchId))!.rows.find((r) => r.issuedId === award.IssuedId);
    expect(row).toMatchObject({ status: 'stored', sha256: fresh });
    const sidecar = JSON.parse(await readFile(saved.path.replace(/\.pdf$/, '.json'), 'utf8')) as {
      sha256: string;
      schemaVersion: number;
    };
    expect(sidecar).toMatchObject({ sha256: fresh, schemaVersion: 1 });
  }, 180_000);
});
