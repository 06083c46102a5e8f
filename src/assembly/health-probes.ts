/**
 * The health probes: per fault code, how a worker tells that the cause of a pause (the fleet's)
 * or of a fault of its own (`LocalFaults`) is gone. The fleet monitor and the local faults share
 * them. Each is safe to repeat: none posts a password.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { TokenProvider } from '../auth/index.ts';
import { checkChromiumStarts } from '../browser/index.ts';
import type { OutageClock, PauseReason } from '../fleet/index.ts';
import type { UserDirectory } from '../lms/index.ts';
import type { CertificateStore } from '../storage/index.ts';

/** What the probes look at. */
export interface ProbeParts {
  tokens: Pick<TokenProvider, 'status' | 'getAccessToken'>;
  store: Pick<CertificateStore, 'checkWritable'>;
  directory: Pick<UserDirectory, 'reachable'>;
  redis: RedisConnection;
  outage: Pick<OutageClock, 'key'>;
  chromiumPath?: string | undefined;
}

/** A check that a cause is gone. */
export type HealthProbe = () => Promise<boolean>;

/** AUTH_REFRESH_REFUSED: the store holds a token that works again (someone bootstrapped). */
export async function tokenWorksAgain(parts: ProbeParts): Promise<boolean> {
  const status = await parts.tokens.status();
  if (status.state === 'reauth-required' || status.state === 'not-bootstrapped') return false;
  await parts.tokens.getAccessToken();
  return true;
}

/** SECRETS_KEY_MISMATCH: the token store opens with this worker's key. */
export async function tokenStoreOpens(parts: ProbeParts): Promise<boolean> {
  await parts.tokens.status();
  return true;
}

/** OUTPUT_UNAVAILABLE: OUTPUT_DIR takes a test write. */
export async function outputTakesWrites(parts: ProbeParts): Promise<boolean> {
  await parts.store.checkWritable();
  return true;
}

/** LMS_UNREACHABLE: the LMS answers (and its outage clock is reset). */
export async function lmsAnswers(parts: ProbeParts): Promise<boolean> {
  const up = await parts.directory.reachable();
  if (up) await parts.redis.del(parts.outage.key);
  return up;
}

/** BROWSER_UNAVAILABLE: Chromium starts. */
export async function chromiumStarts(parts: ProbeParts): Promise<boolean> {
  await checkChromiumStarts(parts.chromiumPath);
  return true;
}

/** Every probe, keyed by the fault code it clears. */
export const HEALTH_PROBES = {
  AUTH_REFRESH_REFUSED: tokenWorksAgain,
  SECRETS_KEY_MISMATCH: tokenStoreOpens,
  OUTPUT_UNAVAILABLE: outputTakesWrites,
  LMS_UNREACHABLE: lmsAnswers,
  BROWSER_UNAVAILABLE: chromiumStarts,
} as const satisfies Partial<Record<PauseReason, (parts: ProbeParts) => Promise<boolean>>>;

/** The probes for `reasons` (those that have one), bound to `parts`. */
export function healthProbes(
  parts: ProbeParts,
  reasons: Iterable<PauseReason>,
): Partial<Record<PauseReason, HealthProbe>> {
  const probes: Partial<Record<PauseReason, HealthProbe>> = {};
  for (const reason of reasons) {
    const probe = (HEALTH_PROBES as Partial<Record<PauseReason, (parts: ProbeParts) => Promise<boolean>>>)[
      reason
    ];
    if (probe) probes[reason] = () => probe(parts);
  }
  return probes;
}
