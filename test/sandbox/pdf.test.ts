import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { AwardType, createInstitution } from '@certharvest/sandbox';
import { SandboxCertificateStore } from '../../packages/sandbox/src/pdf.ts';

describe('sandbox certificate PDFs', () => {
  const inst = createInstitution({ seed: 1, userCount: 40 });
  const award = inst.certificates()[0]!;

  it('are whole, real PDFs of a few KB naming the student, course and award', async () => {
    const bytes = await new SandboxCertificateStore(inst).get(award.IssuedId);
    const text = Buffer.from(bytes).toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(bytes.length).toBeGreaterThan(1500);
    expect(bytes.length).toBeLessThan(20_000);

    const doc = await PDFDocument.load(bytes, { updateMetadata: false });
    const student = inst.user(award.UserId)!;
    const course = inst.course(award.OrgUnitId)!;
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toBe(`${award.Award.Title} - ${student.FirstName} ${student.LastName}`);
    expect(doc.getSubject()).toBe(`${course.Name} (${course.Code})`);
    expect(doc.getKeywords()).toContain(`IssuedId ${award.IssuedId}`);
    // PDF dates have whole seconds.
    expect(doc.getCreationDate()?.toISOString()).toBe(`${award.IssuedDate.slice(1, 20)}.000Z`);
  });

  it('are byte-for-byte the same every time they are made', async () => {
    const a = await new SandboxCertificateStore(inst).get(award.IssuedId);
    const b = await new SandboxCertificateStore(createInstitution({ seed: 1, userCount: 40 })).get(
      award.IssuedId,
    );
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const other = inst.certificates()[1]!;
    const c = await new SandboxCertificateStore(inst).get(other.IssuedId);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('exist only for certificates', async () => {
    const badge = inst.issued.find((a) => a.Award.AwardType === AwardType.Badge)!;
    const store = new SandboxCertificateStore(inst);
    await expect(store.get(badge.IssuedId)).rejects.toThrow(/no certificate/);
    await expect(store.get(1)).rejects.toThrow(/no certificate/);
  });
});
