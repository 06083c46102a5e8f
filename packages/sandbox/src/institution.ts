import { fromBasDate, toBasDate } from './dates.ts';
import { COURSES, FIRST_NAMES, INSTITUTION_NAME, LAST_NAMES } from './institution-data.ts';
import { SeededRandom } from './random.ts';

/** `AWARD_T` in the Awards service: Badge = 1, Certificate = 2 (https://docs.valence.desire2learn.com/res/awards.html). */
export const AwardType = { Badge: 1, Certificate: 2 } as const;
export type AwardTypeValue = (typeof AwardType)[keyof typeof AwardType];

export type SandboxUserRole = 'student' | 'staff' | 'service';

/** A user, with the field names of Brightspace's `UserData` where they exist. */
export interface SandboxUser {
  UserId: number;
  UserName: string;
  OrgDefinedId: string;
  FirstName: string;
  MiddleName: string;
  LastName: string;
  ExternalEmail: string;
  role: SandboxUserRole;
}

/** A course offering (an org unit). */
export interface Course {
  OrgUnitId: number;
  Name: string;
  Code: string;
}

/** An award definition, as nested in an issued award's `Award`. */
export interface AwardDefinition {
  AwardId: number;
  AwardType: AwardTypeValue;
  Title: string;
  Description: string;
  IssuerName: string;
  /** The course that issues this award. */
  OrgUnitId: number;
}

/** One award issued to one user in one org unit. */
export interface SandboxAward {
  IssuedId: number;
  UserId: number;
  OrgUnitId: number;
  /** BAS date, e.g. `U2026-05-13T20:01:00.827`. */
  IssuedDate: string;
  /** BAS date when the award expires (or expired); null for one that never does. */
  ExpiryDate: string | null;
  IssuedBy: number;
  Award: AwardDefinition;
}

/** How many awards a student was given; every profile occurs when there are ≥ 3 students. */
export type AwardProfile = 'none' | 'badges-only' | 'many' | 'mixed';

export interface Institution {
  readonly seed: number;
  readonly name: string;
  /** The root org unit (the organisation). */
  readonly orgId: number;
  /** The account the worker logs in as (web and OAuth); not a student, has no awards. */
  readonly serviceUser: SandboxUser;
  /** The staff account shown as `IssuedBy` on every award; has no awards. */
  readonly registrar: SandboxUser;
  /** Every user (service user and registrar included), by ascending UserId. */
  readonly users: readonly SandboxUser[];
  readonly students: readonly SandboxUser[];
  readonly courses: readonly Course[];
  readonly awards: readonly AwardDefinition[];
  /** Every issued award, badges and expired ones included, by ascending IssuedId. */
  readonly issued: readonly SandboxAward[];
  user(userId: number): SandboxUser | undefined;
  /** Case-insensitive, as Brightspace user names are. */
  userByName(userName: string): SandboxUser | undefined;
  usersByOrgDefinedId(orgDefinedId: string): SandboxUser[];
  course(orgUnitId: number): Course | undefined;
  issuedAward(issuedId: number): SandboxAward | undefined;
  /** Everything issued to the user (badges, certificates, expired ones), by ascending IssuedId. */
  awardsOf(userId: number): readonly SandboxAward[];
  /**
   * Only the certificates (AwardType 2), expired ones included: what a worker must download for
   * this user by default.
   */
  certificatesOf(userId: number): readonly SandboxAward[];
  /** Every certificate in the institution, expired ones included. */
  certificates(): readonly SandboxAward[];
  /** Whether the award's ExpiryDate is at or before `at` (default: now). */
  isExpired(award: SandboxAward, at?: Date): boolean;
  profileOf(userId: number): AwardProfile | undefined;
}

export interface InstitutionOptions {
  seed?: number;
  /** Number of students. Default 40. */
  userCount?: number;
  /**
   * Every student holds exactly this many certificates and nothing else (the benchmark's shapes:
   * one certificate a student, or a few students with hundreds). Default: the generated mix
   * (badges, expired awards, students with none), about two certificates a student.
   */
  certificatesPerStudent?: number;
}

const ORG_ID = 6606;
const FIRST_ISSUE = Date.UTC(2024, 8, 1);
const LAST_ISSUE = Date.UTC(2026, 4, 31);

/** Build the institution for a seed: same seed and count, same users, ids, awards and dates. */
export function createInstitution(options: InstitutionOptions = {}): Institution {
  const seed = options.seed ?? 1;
  const userCount = options.userCount ?? 40;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer (got ${seed})`);
  if (!Number.isInteger(userCount) || userCount < 0 || userCount > 100_000) {
    throw new RangeError(`userCount must be a whole number from 0 to 100000 (got ${userCount})`);
  }
  const perStudent = options.certificatesPerStudent;
  if (perStudent !== undefined && !(Number.isInteger(perStudent) && perStudent >= 1 && perStudent <= 1000)) {
    throw new RangeError(`certificatesPerStudent must be a whole number from 1 to 1000 (got ${perStudent})`);
  }
  return new GeneratedInstitution(seed, userCount, perStudent);
}

class GeneratedInstitution implements Institution {
  readonly name = INSTITUTION_NAME;
  readonly orgId = ORG_ID;
  readonly serviceUser: SandboxUser;
  readonly registrar: SandboxUser;
  readonly users: readonly SandboxUser[];
  readonly students: readonly SandboxUser[];
  readonly courses: readonly Course[];
  readonly awards: readonly AwardDefinition[];
  readonly issued: readonly SandboxAward[];
  readonly #usersById = new Map<number, SandboxUser>();
  readonly #usersByName = new Map<string, SandboxUser>();
  readonly #courses = new Map<number, Course>();
  readonly #issuedById = new Map<number, SandboxAward>();
  readonly #issuedByUser = new Map<number, SandboxAward[]>();
  readonly #profiles = new Map<number, AwardProfile>();
  readonly #certificates: readonly SandboxAward[];

  constructor(
    readonly seed: number,
    userCount: number,
    certificatesPerStudent?: number,
  ) {
    const rng = new SeededRandom(seed);
    this.courses = makeCourses(rng);
    this.awards = makeAwards(this.courses);
    this.serviceUser = {
      UserId: 169,
      UserName: 'svc-certharvest',
      OrgDefinedId: 'SVC-0001',
      FirstName: 'Certharvest',
      MiddleName: '',
      LastName: 'Service',
      ExternalEmail: 'svc-certharvest@sandbox.example.edu',
      role: 'service',
    };
    this.registrar = {
      UserId: 171,
      UserName: 'registrar',
      OrgDefinedId: 'STAFF-0001',
      FirstName: 'Rosa',
      MiddleName: '',
      LastName: 'Registrar',
      ExternalEmail: 'registrar@sandbox.example.edu',
      role: 'staff',
    };
    this.students = makeStudents(rng, userCount);
    this.users = [this.serviceUser, this.registrar, ...this.students];
    for (const u of this.users) {
      this.#usersById.set(u.UserId, u);
      this.#usersByName.set(u.UserName.toLowerCase(), u);
    }
    for (const c of this.courses) this.#courses.set(c.OrgUnitId, c);

    const profiles = assignProfiles(rng, this.students);
    for (const [userId, profile] of profiles) this.#profiles.set(userId, profile);
    const drafts = issueAwards(
      rng,
      this.students,
      profiles,
      this.awards,
      this.registrar.UserId,
      certificatesPerStudent,
    );
    this.issued =
      certificatesPerStudent === undefined
        ? assignExpiry(seed, drafts)
        : drafts.map((d) => ({ ...d, ExpiryDate: null }));
    for (const award of this.issued) {
      this.#issuedById.set(award.IssuedId, award);
      const list = this.#issuedByUser.get(award.UserId) ?? [];
      list.push(award);
      this.#issuedByUser.set(award.UserId, list);
    }
    this.#certificates = this.issued.filter((a) => a.Award.AwardType === AwardType.Certificate);
  }

  user(userId: number) {
    return this.#usersById.get(userId);
  }

  userByName(userName: string) {
    return this.#usersByName.get(userName.toLowerCase());
  }

  usersByOrgDefinedId(orgDefinedId: string) {
    return this.users.filter((u) => u.OrgDefinedId === orgDefinedId);
  }

  course(orgUnitId: number) {
    return this.#courses.get(orgUnitId);
  }

  issuedAward(issuedId: number) {
    return this.#issuedById.get(issuedId);
  }

  awardsOf(userId: number): readonly SandboxAward[] {
    return this.#issuedByUser.get(userId) ?? [];
  }

  certificatesOf(userId: number): readonly SandboxAward[] {
    return this.awardsOf(userId).filter((a) => a.Award.AwardType === AwardType.Certificate);
  }

  certificates(): readonly SandboxAward[] {
    return this.#certificates;
  }

  profileOf(userId: number) {
    return this.#profiles.get(userId);
  }

  isExpired(award: SandboxAward, at: Date = new Date()): boolean {
    return award.ExpiryDate !== null && fromBasDate(award.ExpiryDate).getTime() <= at.getTime();
  }
}

function makeCourses(rng: SeededRandom): Course[] {
  let orgUnitId = 6700;
  return rng.shuffle(COURSES).map((c) => {
    orgUnitId += rng.int(1, 9);
    return { OrgUnitId: orgUnitId, Name: c.name, Code: c.code };
  });
}

function makeAwards(courses: readonly Course[]): AwardDefinition[] {
  const awards: AwardDefinition[] = [];
  let awardId = 400;
  for (const course of courses) {
    const badge = COURSES.find((c) => c.code === course.Code)?.badge ?? 'Participant';
    awards.push({
      AwardId: awardId++,
      AwardType: AwardType.Certificate,
      Title: `Certificate of Completion: ${course.Name}`,
      Description: `Awarded for completing ${course.Name} (${course.Code}).`,
      IssuerName: INSTITUTION_NAME,
      OrgUnitId: course.OrgUnitId,
    });
    awards.push({
      AwardId: awardId++,
      AwardType: AwardType.Badge,
      Title: badge,
      Description: `A badge earned in ${course.Name}.`,
      IssuerName: INSTITUTION_NAME,
      OrgUnitId: course.OrgUnitId,
    });
  }
  return awards;
}

/** Brightspace user names are plain ASCII here: accents folded, apostrophes and spaces dropped. */
function asciiFold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ø/g, 'o')
    .replace(/Ø/g, 'O')
    .replace(/['\s]/g, '')
    .toLowerCase();
}

function makeStudents(rng: SeededRandom, count: number): SandboxUser[] {
  const students: SandboxUser[] = [];
  const names = new Set<string>();
  const orgIds = new Set<string>();
  let userId = 2400;
  for (let i = 0; i < count; i++) {
    userId += rng.int(1, 6);
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const base = `${asciiFold(first)}.${asciiFold(last)}`;
    let userName = base;
    for (let n = 2; names.has(userName); n++) userName = `${base}${n}`;
    names.add(userName);
    let orgDefinedId: string;
    do orgDefinedId = `S${rng.int(1_000_000, 9_999_999)}`;
    while (orgIds.has(orgDefinedId));
    orgIds.add(orgDefinedId);
    students.push({
      UserId: userId,
      UserName: userName,
      OrgDefinedId: orgDefinedId,
      FirstName: first,
      MiddleName: '',
      LastName: last,
      ExternalEmail: `${userName}@students.sandbox.example.edu`,
      role: 'student',
    });
  }
  return students;
}

function assignProfiles(rng: SeededRandom, students: readonly SandboxUser[]): Map<number, AwardProfile> {
  const profiles = new Map<number, AwardProfile>();
  const forced: AwardProfile[] = ['none', 'badges-only', 'many'];
  rng.shuffle(students).forEach((student, i) => {
    const roll = rng.next();
    const profile =
      forced[i] ?? (roll < 0.1 ? 'none' : roll < 0.2 ? 'badges-only' : roll < 0.3 ? 'many' : 'mixed');
    profiles.set(student.UserId, profile);
  });
  return profiles;
}

function pickAwards(
  rng: SeededRandom,
  profile: AwardProfile,
  awards: readonly AwardDefinition[],
): AwardDefinition[] {
  const badges = awards.filter((a) => a.AwardType === AwardType.Badge);
  const certificates = awards.filter((a) => a.AwardType === AwardType.Certificate);
  switch (profile) {
    case 'none':
      return [];
    case 'badges-only':
      return rng.shuffle(badges).slice(0, rng.int(1, 4));
    case 'many':
      return rng.shuffle(awards).slice(0, rng.int(11, 16));
    case 'mixed': {
      const chosen = rng.shuffle(awards).slice(0, rng.int(1, 6));
      if (!chosen.some((a) => a.AwardType === AwardType.Certificate)) chosen[0] = rng.pick(certificates);
      return chosen;
    }
  }
}

function issueAwards(
  rng: SeededRandom,
  students: readonly SandboxUser[],
  profiles: ReadonlyMap<number, AwardProfile>,
  awards: readonly AwardDefinition[],
  issuedBy: number,
  certificatesPerStudent?: number,
): Omit<SandboxAward, 'ExpiryDate'>[] {
  const drafts: { userId: number; award: AwardDefinition; at: number }[] = [];
  const certificates = awards.filter((a) => a.AwardType === AwardType.Certificate);
  for (const student of students) {
    const picked =
      certificatesPerStudent === undefined
        ? pickAwards(rng, profiles.get(student.UserId) ?? 'none', awards)
        : Array.from({ length: certificatesPerStudent }, (_, i) => certificates[i % certificates.length]!);
    for (const award of picked) {
      drafts.push({ userId: student.UserId, award, at: rng.int(FIRST_ISSUE, LAST_ISSUE) });
    }
  }
  // IssuedIds grow with time, as database ids do.
  drafts.sort((a, b) => a.at - b.at || a.userId - b.userId || a.award.AwardId - b.award.AwardId);
  let issuedId = 10_000;
  return drafts.map((d) => {
    issuedId += rng.int(1, 4);
    return {
      IssuedId: issuedId,
      UserId: d.userId,
      OrgUnitId: d.award.OrgUnitId,
      IssuedDate: toBasDate(new Date(d.at)),
      IssuedBy: issuedBy,
      Award: d.award,
    };
  });
}

const DAY_MS = 86_400_000;
/** Awards issued before this may have expired: their expiry (≤ 180 days on) is before 2025-12. */
const EXPIRABLE_BEFORE = Date.UTC(2025, 5, 1);
const EXPIRED_SHARE = 0.25;
/** A few later awards carry an expiry years ahead: an ExpiryDate is not the same as expired. */
const FUTURE_EXPIRY_SHARE = 0.1;
const FUTURE_EXPIRY_YEARS = 10;

/**
 * Give a small share of awards an ExpiryDate: about a quarter of those issued before June 2025
 * expired 30–180 days after issue, and a tenth of the later ones expire ten years on. Both dates
 * lie far from any clock a test runs under, so "expired" does not depend on the day. The draws
 * come from a stream of their own, so users, ids and issue dates stay what they were before
 * awards could expire (the demo's 62 certificates among them).
 */
function assignExpiry(seed: number, drafts: readonly Omit<SandboxAward, 'ExpiryDate'>[]): SandboxAward[] {
  const rng = new SeededRandom(seed ^ 0x5eed_e4b1);
  return drafts.map((award) => {
    const issued = fromBasDate(award.IssuedDate).getTime();
    let expiry: number | undefined;
    if (issued < EXPIRABLE_BEFORE) {
      if (rng.chance(EXPIRED_SHARE)) expiry = issued + rng.int(30, 180) * DAY_MS;
    } else if (rng.chance(FUTURE_EXPIRY_SHARE)) {
      expiry = Date.UTC(new Date(issued).getUTCFullYear() + FUTURE_EXPIRY_YEARS, 0, 1);
    }
    return { ...award, ExpiryDate: expiry === undefined ? null : toBasDate(new Date(expiry)) };
  });
}
