import { createHash } from 'node:crypto';
import type { Course, Institution, SandboxUser } from '../institution.ts';
import type { LearnIdStyle } from '../knobs.ts';

/**
 * Learn's ids for the sandbox's Brightspace-style institution: with `learnIds: n1`, user
 * `_<UserId>_1`, course `_<OrgUnitId>_1`, achievement `_<IssuedId>_1`, award `_<AwardId>_1`; with
 * `mixed`, an even N is `_<N>_4` (users, achievements, awards) and a course is a UUID. Only the
 * current form of an object's id names it; anything else is unknown (404).
 */
export function learnId(n: number): string {
  return `_${n}_1`;
}

/** N of a `_<N>_1` primary id; undefined for anything else (another suffix, not digits, zero). */
export function parseLearnId(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^_([1-9]\d{0,15})_1$/.exec(value);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A stable 32-hex-digit uuid (Learn's form, no dashes) for an object of the seeded institution. */
export function learnUuid(seed: number, kind: 'user' | 'course' | 'site', n: number): string {
  return createHash('sha256').update(`certharvest-sandbox:${seed}:${kind}:${n}`).digest('hex').slice(0, 32);
}

/** Learn's `courseId` (the human-readable course id) of an org unit. */
export function learnCourseId(course: Course): string {
  return `C${course.OrgUnitId}`;
}

type Kind = 'user' | 'achievement' | 'award';

/** Resolves Learn's id forms against the institution, in the id style of the moment. */
export class LearnIds {
  readonly #institution: Institution;
  readonly #style: () => LearnIdStyle;
  readonly #byUuid = new Map<string, SandboxUser>();
  readonly #courseByUuid = new Map<string, Course>();

  constructor(institution: Institution, style: () => LearnIdStyle = () => 'n1') {
    this.#institution = institution;
    this.#style = style;
    for (const user of institution.users) this.#byUuid.set(this.userUuid(user), user);
    for (const course of institution.courses) {
      this.#courseByUuid.set(learnUuid(institution.seed, 'course', course.OrgUnitId), course);
    }
  }

  /** The primary id of user, achievement (IssuedId) or award N. */
  ref(_kind: Kind, n: number): string {
    return this.#style() === 'mixed' && n % 2 === 0 ? `_${n}_4` : learnId(n);
  }

  /** N of a primary id in its current form; undefined for any other. */
  number(kind: Kind, ref: unknown): number | undefined {
    if (typeof ref !== 'string') return undefined;
    const match = /^_([1-9]\d{0,15})_([14])$/.exec(ref);
    if (!match) return undefined;
    const n = Number(match[1]);
    return Number.isSafeInteger(n) && this.ref(kind, n) === ref ? n : undefined;
  }

  /** A course's primary id: `_N_1`, or its UUID in the `mixed` style. */
  courseRef(n: number): string {
    return this.#style() === 'mixed' ? learnUuid(this.#institution.seed, 'course', n) : learnId(n);
  }

  /** The course of a primary id in its current form. */
  courseOf(ref: unknown): Course | undefined {
    if (typeof ref !== 'string') return undefined;
    if (this.#style() === 'mixed') return this.#courseByUuid.get(ref);
    const n = parseLearnId(ref);
    return n === undefined ? undefined : this.#institution.course(n);
  }

  /** The user of a primary id in its current form. */
  userOf(ref: unknown): SandboxUser | undefined {
    const n = this.number('user', ref);
    return n === undefined ? undefined : this.#institution.user(n);
  }

  userUuid(user: SandboxUser): string {
    return learnUuid(this.#institution.seed, 'user', user.UserId);
  }

  /** `_N_1`, `userName:<x>` (case-insensitive), `externalId:<x>` (OrgDefinedId) or `uuid:<x>`. */
  user(id: string): SandboxUser | undefined {
    const colon = id.indexOf(':');
    if (colon < 0) return this.userOf(id);
    const value = id.slice(colon + 1);
    switch (id.slice(0, colon)) {
      case 'userName':
        return this.#institution.userByName(value);
      case 'externalId':
        return this.#institution.usersByOrgDefinedId(value)[0];
      case 'uuid':
        return this.#byUuid.get(value.toLowerCase());
      default:
        return undefined;
    }
  }

  /** The primary id or `courseId:C<OrgUnitId>`. */
  course(id: string): Course | undefined {
    if (id.startsWith('courseId:')) {
      const match = /^courseId:C(\d+)$/.exec(id);
      return match ? this.#institution.course(Number(match[1])) : undefined;
    }
    return this.courseOf(id);
  }

  /**
   * The courses a user is enrolled in, by ascending OrgUnitId: every course where they hold an
   * award (certificate or badge), plus two more where they hold none (fewer if there are not two).
   */
  memberships(user: SandboxUser): readonly Course[] {
    const held = new Set(this.#institution.awardsOf(user.UserId).map((a) => a.OrgUnitId));
    const courses = [...this.#institution.courses].sort((a, b) => a.OrgUnitId - b.OrgUnitId);
    const others = courses.filter((c) => !held.has(c.OrgUnitId));
    const extra = new Set<number>();
    if (others.length > 0) {
      const start = user.UserId % others.length;
      extra.add((others[start] as Course).OrgUnitId);
      // Half-way round: a different course whenever there are two or more.
      const second = (start + Math.ceil(others.length / 2)) % others.length;
      extra.add((others[second] as Course).OrgUnitId);
    }
    return courses.filter((c) => held.has(c.OrgUnitId) || extra.has(c.OrgUnitId));
  }
}
