import { describe, expect, it } from 'vitest';
import { AwardType, createInstitution, fromBasDate, toBasDate } from '@certharvest/sandbox';

const snapshot = (seed: number, userCount = 40) => {
  const inst = createInstitution({ seed, userCount });
  return JSON.stringify({ users: inst.users, courses: inst.courses, issued: inst.issued });
};

describe('sandbox institution', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(snapshot(7)).toBe(snapshot(7));
    expect(snapshot(7)).not.toBe(snapshot(8));
  });

  it('has every award profile: none, badges only, several pages, mixed', () => {
    const inst = createInstitution({ seed: 1, userCount: 40 });
    const byProfile = (p: string) => inst.students.filter((s) => inst.profileOf(s.UserId) === p);
    for (const s of byProfile('none')) expect(inst.awardsOf(s.UserId)).toHaveLength(0);
    for (const s of byProfile('badges-only')) {
      expect(inst.awardsOf(s.UserId).length).toBeGreaterThan(0);
      expect(inst.certificatesOf(s.UserId)).toHaveLength(0);
    }
    for (const s of byProfile('many')) expect(inst.awardsOf(s.UserId).length).toBeGreaterThan(10);
    for (const s of byProfile('mixed')) expect(inst.certificatesOf(s.UserId).length).toBeGreaterThan(0);
    expect(byProfile('none').length).toBeGreaterThan(0);
    expect(byProfile('badges-only').length).toBeGreaterThan(0);
    expect(byProfile('many').length).toBeGreaterThan(0);
    expect(byProfile('mixed').length).toBeGreaterThan(0);
    // Certificates and badges are mixed within one user's list.
    expect(
      inst.students.some((s) => {
        const types = new Set(inst.awardsOf(s.UserId).map((a) => a.Award.AwardType));
        return types.has(AwardType.Badge) && types.has(AwardType.Certificate);
      }),
    ).toBe(true);
  });

  it('keeps every id unique and the indexes consistent', () => {
    const inst = createInstitution({ seed: 3, userCount: 60 });
    const unique = <T>(xs: T[]) => new Set(xs).size === xs.length;
    expect(unique(inst.users.map((u) => u.UserId))).toBe(true);
    expect(unique(inst.users.map((u) => u.UserName.toLowerCase()))).toBe(true);
    expect(unique(inst.users.map((u) => u.OrgDefinedId))).toBe(true);
    expect(unique(inst.issued.map((a) => a.IssuedId))).toBe(true);
    expect(inst.users.map((u) => u.UserId)).toEqual(
      [...inst.users.map((u) => u.UserId)].sort((a, b) => a - b),
    );
    const total = inst.users.reduce((n, u) => n + inst.awardsOf(u.UserId).length, 0);
    expect(total).toBe(inst.issued.length);
    expect(inst.certificates()).toEqual(
      inst.issued.filter((a) => a.Award.AwardType === AwardType.Certificate),
    );
    for (const a of inst.issued) {
      expect(inst.course(a.OrgUnitId)).toBeDefined();
      expect(a.Award.OrgUnitId).toBe(a.OrgUnitId);
      expect(inst.issuedAward(a.IssuedId)).toBe(a);
    }
    const student = inst.students[5]!;
    expect(inst.userByName(student.UserName.toUpperCase())).toBe(student);
    expect(inst.usersByOrgDefinedId(student.OrgDefinedId)).toEqual([student]);
  });

  it('has a service user who is not a student and has no awards', () => {
    const inst = createInstitution({ seed: 1, userCount: 5 });
    expect(inst.serviceUser.role).toBe('service');
    expect(inst.students).not.toContain(inst.serviceUser);
    expect(inst.users).toContain(inst.serviceUser);
    expect(inst.awardsOf(inst.serviceUser.UserId)).toHaveLength(0);
  });

  it('writes IssuedDate the BAS way: U prefix, milliseconds, no Z', () => {
    const inst = createInstitution({ seed: 2, userCount: 20 });
    for (const a of inst.issued) {
      expect(a.IssuedDate).toMatch(/^U\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(toBasDate(fromBasDate(a.IssuedDate))).toBe(a.IssuedDate);
    }
    expect(toBasDate(new Date('2026-05-13T20:01:00.827Z'))).toBe('U2026-05-13T20:01:00.827');
  });

  it('gives a small share of awards an expiry: long past, or years ahead, whatever the day', () => {
    const inst = createInstitution({ seed: 1, userCount: 40 });
    // Expiry draws from a stream of its own: the demo still has its 62 certificates.
    expect(inst.certificates()).toHaveLength(62);
    const expired = inst.issued.filter((a) => inst.isExpired(a));
    const later = inst.issued.filter((a) => a.ExpiryDate !== null && !inst.isExpired(a));
    expect(expired.length).toBeGreaterThan(0);
    expect(expired.length).toBeLessThan(inst.issued.length / 4);
    expect(expired.some((a) => a.Award.AwardType === AwardType.Certificate)).toBe(true);
    expect(later.length).toBeGreaterThan(0);
    for (const a of expired) {
      const expiry = fromBasDate(a.ExpiryDate!);
      expect(expiry.getTime()).toBeGreaterThan(fromBasDate(a.IssuedDate).getTime());
      expect(expiry.getTime()).toBeLessThan(Date.UTC(2025, 11, 1));
      expect(inst.isExpired(a, new Date(expiry.getTime() - 1))).toBe(false);
    }
    for (const a of later) expect(fromBasDate(a.ExpiryDate!).getUTCFullYear()).toBeGreaterThanOrEqual(2035);
    for (const a of inst.issued.filter((x) => x.ExpiryDate === null)) expect(inst.isExpired(a)).toBe(false);
  });

  it('works with no students and refuses a bad count', () => {
    const inst = createInstitution({ seed: 1, userCount: 0 });
    expect(inst.students).toHaveLength(0);
    expect(inst.issued).toHaveLength(0);
    expect(() => createInstitution({ userCount: -1 })).toThrow(/userCount/);
  });
});

describe('sandbox institution shapes (the benchmark’s)', () => {
  it('gives every student exactly N certificates and nothing else', () => {
    const many = createInstitution({ userCount: 3, certificatesPerStudent: 250 });
    for (const s of many.students) {
      expect(many.certificatesOf(s.UserId)).toHaveLength(250);
      expect(many.awardsOf(s.UserId)).toHaveLength(250);
    }
    expect(new Set(many.certificates().map((c) => c.IssuedId)).size).toBe(750);
    expect(many.certificates().every((c) => c.Award.AwardType === AwardType.Certificate)).toBe(true);
    const single = createInstitution({ userCount: 1000, certificatesPerStudent: 1 });
    expect(single.certificates()).toHaveLength(1000);
  });

  it('refuses a count out of range', () => {
    expect(() => createInstitution({ certificatesPerStudent: 0 })).toThrow(/certificatesPerStudent/);
    expect(() => createInstitution({ certificatesPerStudent: 1.5 })).toThrow(/certificatesPerStudent/);
  });
});
