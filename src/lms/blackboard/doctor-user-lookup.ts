/** Learn's user lookup step of `certharvest doctor`: the user to probe, and the app's REST quota. */
import type { LmsId } from '../../certificate/index.ts';
import { fail, pass, warn, type CheckOutcome } from '../../doctor/check.ts';
import type { DoctorState } from '../../doctor/state.ts';
import { InvalidReferenceError, UserNotFoundError } from '../errors.ts';
import type { LearnClient } from './client.ts';
import {
  clean,
  findingsOf,
  learnAdapter,
  learnFailure,
  type LearnDoctorSettings,
} from './doctor-findings.ts';
import { TemplateError } from './site-profile.ts';
import type { LearnUser, LearnUserReference } from './types.ts';

/** Users whose awards are listed, at most, to find a certificate to probe (without `--user`). */
export const MAX_PROBED_USERS = 10;

/**
 * `--user` (a UserId is `_N_1`, `userName:x`, `orgDefinedId:x` is Learn's externalId), or else the
 * service user by its user name; without `--user`, the first page of the users listing gives users
 * to probe. Then the app's REST calls today against its daily quota, and what Learn said of it.
 */
export async function checkLearnUserLookup(s: DoctorState, site: LearnDoctorSettings): Promise<CheckOutcome> {
  let client: LearnClient;
  try {
    client = learnAdapter(s, site).client;
  } catch (err) {
    if (err instanceof TemplateError) {
      return fail(
        err.message,
        `fix the site profile (${site.profile.source}) or that BB_* variable (docs/blackboard.md)`,
      );
    }
    throw err;
  }
  const named = await lookUpNamedUser(s, client);
  if ('ok' in named) return named;
  let { said } = named;
  const { user } = named;
  if (s.input.user && user) {
    s.candidates = [user.userId];
  } else {
    let candidates: LmsId[];
    try {
      candidates = await usersToProbe(client, user);
    } catch (err) {
      const listing = learnFailure(err, s);
      return warn(
        `${said ? `${said}; ` : ''}the users listing failed: ${listing.found}; ${await quotaText(client)}`,
        "`submit --all-users` needs that listing (the integration user's role must see the users); " +
          'meanwhile pass --user to pick the user to probe',
      );
    }
    s.candidates = candidates;
    said += `${said ? '; ' : ''}the users listing answers (${candidates.length} users taken from it to probe)`;
  }
  const found = `${said}; ${await quotaText(client)}`;
  const calls = await client.callsToday();
  if (calls >= client.dailyQuota * 0.8) {
    return warn(
      found,
      "most of the app's daily REST quota is spent: a large batch may stop until the window resets (X-Rate-Limit-Reset)",
    );
  }
  return named.hidden ? warn(found, 'check a lookup batches use with --user userName:SOMEONE') : pass(found);
}

interface NamedUser {
  user: LearnUser | undefined;
  /** What was found, so far. */
  said: string;
  /** The service user is kept out of the lookups. */
  hidden: boolean;
}

/** `--user`, or else the service user by its user name; ✖ for a `--user` that is not found. */
async function lookUpNamedUser(s: DoctorState, client: LearnClient): Promise<NamedUser | CheckOutcome> {
  const given = s.input.user;
  const serviceUser = s.part('config')?.webLogin?.username;
  const ref: LearnUserReference | undefined =
    given ?? (serviceUser ? { by: 'userName', value: serviceUser } : undefined);
  if (!ref) return { user: undefined, said: '', hidden: false };
  try {
    const user = await client.resolveUser(ref);
    findingsOf(s).user = user;
    return {
      user,
      said: `${describeRef(ref)}${given ? '' : ' (the service user)'} is ${describeUser(user)}`,
      hidden: false,
    };
  } catch (err) {
    if (!(err instanceof UserNotFoundError || err instanceof InvalidReferenceError))
      return learnFailure(err, s);
    if (given) {
      return fail(
        err.message,
        'check --user: a UserId, userName:NAME or orgDefinedId:ID (externalId) of this site',
      );
    }
    return {
      user: undefined,
      said: `${describeRef(ref)} (the service user) is not found by the lookup`,
      hidden: true,
    };
  }
}

/** The first available users of the listing, but `user`. */
async function usersToProbe(client: LearnClient, user: LearnUser | undefined): Promise<LmsId[]> {
  const candidates: LmsId[] = [];
  for await (const item of client.listUsers()) {
    const u = item.ok ? item.value : undefined;
    if (u && u.userId !== user?.userId && u.available !== 'No' && u.available !== 'Disabled') {
      candidates.push(u.userId);
    }
    if (candidates.length >= MAX_PROBED_USERS) break;
  }
  return candidates;
}

function describeRef(ref: LearnUserReference): string {
  if (ref.by === 'userId') return `UserId ${ref.value}`;
  return ref.by === 'userName' ? `userName ${ref.value}` : `orgDefinedId (externalId) ${ref.value}`;
}

function describeUser(u: LearnUser): string {
  const name = [u.givenName, u.familyName].filter(Boolean).join(' ');
  const more = [
    `userName ${u.userName}`,
    `externalId ${u.externalId ?? '(none)'}`,
    ...(name ? [clean(name, 40)] : []),
    ...(u.available && u.available !== 'Yes' ? [`available: ${u.available}`] : []),
  ];
  return `${u.id} (${more.join(', ')})`;
}

/** "REST calls today: N of Q", and what the X-Rate-Limit headers said. */
async function quotaText(client: LearnClient): Promise<string> {
  const calls = await client.callsToday();
  const q = client.quota();
  const headers =
    q.limit === undefined && q.remaining === undefined
      ? 'no X-Rate-Limit headers seen'
      : `X-Rate-Limit: ${q.remaining ?? '?'} of ${q.limit ?? '?'} left${
          q.resetAt === undefined ? '' : `, resets in ${formatWait(q.resetAt - Date.now())}`
        }`;
  return `REST calls today: ${calls} of ${client.dailyQuota}; ${headers}`;
}

function formatWait(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes >= 90 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
}
