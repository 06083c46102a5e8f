import { createHash } from 'node:crypto';
import type { Course, Institution, SandboxUser } from '../institution.ts';

/**
 * Learn's ids for the sandbox's Brightspace-style institution (.tmp/blackboard-spec.md, "Ids"):
 * user `_<UserId>_1`, course `_<OrgUnitId>_1`, achievement `_<IssuedId>_1`, award `_<AwardId>_1`.
 * Only `_<N>_1` with N a positive safe integer maps back; anything else is malformed.
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

/** Resolves Learn's id forms against the institution. */
export class LearnIds {
  readonly #institution: Institution;
  readonly #byUuid = new Map<string, SandboxUser>();

  constructor(institution: Institution) {
    this.#institution = institution;
    for (const user of institution.users) this.#byUuid.set(this.userUuid(user), user);
  }

  userUuid(user: SandboxUser): string {
    return learnUuid(this.#institution.seed, 'user', user.UserId);
  }

  /** `_N_1`, `userName:<x>` (case-insensitive), `externalId:<x>` (OrgDefinedId) or `uuid:<x>`. */
  user(id: string): SandboxUser | undefined {
    const colon = id.indexOf(':');
    if (colon < 0) {
      const n = parseLearnId(id);
      return n === undefined ? undefined : this.#institution.user(n);
    }
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

  /** `_N_1` or `courseId:C<OrgUnitId>`. */
  course(id: string): Course | undefined {
    if (id.startsWith('courseId:')) {
      const match = /^courseId:C(\d+)$/.exec(id);
      return match ? this.#institution.course(Number(match[1])) : undefined;
    }
    const n = parseLearnId(id);
    return n === undefined ? undefined : this.#institution.course(n);
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
