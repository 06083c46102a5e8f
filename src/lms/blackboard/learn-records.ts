import type { z } from 'zod';
import { InvalidReferenceError } from '../errors.ts';
import { checkedText } from '../listing-item.ts';
import { parseLearnId } from './ids.ts';
import type { learnUserSchema, membershipSchema } from './schemas.ts';
import { oauthErrorSchema, restExceptionSchema } from './schemas.ts';
import type { LearnMembership, LearnUser, LearnUserReference } from './types.ts';

// Learn's JSON (records and error bodies) as our types, and the checks a reference passes before
// it reaches a URL.

/**
 * One line from a Learn error body: `message — developerMessage [code] (see extraInfo)`; the
 * OAuth form (`error`, `error_description`) too; '' for a body that is neither.
 */
export function describeRestException(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return '';
  }
  const oauth = oauthErrorSchema.safeParse(json);
  if (oauth.success) {
    const { error, error_description: description } = oauth.data;
    return clean(description ? `${error}: ${description}` : error);
  }
  const parsed = restExceptionSchema.safeParse(json);
  if (!parsed.success) return '';
  const { code, message, developerMessage, extraInfo } = parsed.data;
  const parts: string[] = [];
  if (message) parts.push(clean(message));
  if (developerMessage && developerMessage !== message) parts.push(clean(developerMessage));
  let line = parts.join(' — ');
  if (code !== null && code !== undefined && String(code) !== '') line += ` [code ${clean(String(code))}]`;
  if (extraInfo && /^https?:\/\//i.test(extraInfo)) line += ` (see ${clean(extraInfo)})`;
  return line.trim();
}

/** Text from an LMS body, safe for a log line: no control characters, bounded. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/** The `{id}` of `/users/{id}` for a reference: the primary id, `userName:<x>` or `externalId:<x>`. */
export function learnUserKey(reference: LearnUserReference): string {
  switch (reference.by) {
    case 'userId':
      return toUserKey(reference.value);
    case 'userName':
      return `userName:${encodeURIComponent(checkedText(reference.value, 'userName'))}`;
    case 'orgDefinedId':
      return `externalId:${encodeURIComponent(checkedText(reference.value, 'orgDefinedId'))}`;
  }
}

/**
 * A user id from a batch or a job: a Learn primary id as Learn gives it (`_123_1`, `_123_4`, a
 * UUID), or a positive whole number N (or its digits) for `_N_1`; anything else never reaches a URL.
 */
export function toUserKey(value: number | string): string {
  return toPrimaryKey(value, 'user');
}

export function toCourseKey(value: number | string): string {
  return toPrimaryKey(value, 'course');
}

function toPrimaryKey(value: number | string, what: 'user' | 'course'): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return `_${value}_1`;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^[1-9]\d{0,14}$/.test(text)) return `_${text}_1`;
    const id = parseLearnId(text);
    if (id !== undefined) return id;
  }
  throw new InvalidReferenceError(
    `${what} id ${JSON.stringify(value)} is not a Learn ${what} id: expected a primary id such as _123_1 or a UUID (letters, digits, _ and -), or a positive whole number N for _N_1`,
  );
}

export function toUser(u: z.output<typeof learnUserSchema>): LearnUser {
  return {
    userId: u.id,
    id: u.id,
    uuid: u.uuid,
    externalId: u.externalId,
    userName: u.userName,
    givenName: u.name.given,
    familyName: u.name.family,
    available: u.availability,
  };
}

export function toMembership(m: z.output<typeof membershipSchema>): LearnMembership {
  const membership: LearnMembership = {
    userId: m.userId,
    orgUnitId: m.courseId,
    courseRoleId: m.courseRoleId,
    available: m.availability,
  };
  // The name of another course than the membership's own would mislabel every certificate of it.
  const course = m.course;
  if (course?.name && (course.id === null || course.id === m.courseId)) membership.orgUnitName = course.name;
  return membership;
}
