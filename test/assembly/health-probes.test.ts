import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { HEALTH_PROBES, healthProbes, type ProbeParts } from '../../src/assembly/health-probes.ts';

/** Probe parts whose answers the test sets. */
function parts(over: { state?: string; writable?: boolean; reachable?: boolean } = {}) {
  const deleted: string[] = [];
  const p = {
    tokens: {
      status: async () => ({ state: over.state ?? 'valid' }),
      getAccessToken: async () => 'token',
    },
    store: {
      checkWritable: async () => {
        if (over.writable === false) throw new Error('read-only');
      },
    },
    directory: { reachable: async () => over.reachable ?? true },
    redis: { del: async (key: string) => (deleted.push(key), 1) } as unknown as Redis,
    outage: { key: 'p:fleet:lms-unreachable-since' },
  } as unknown as ProbeParts;
  return { p, deleted };
}

describe('health probes', () => {
  it('binds only the reasons asked for, each to its named probe', async () => {
    const { p } = parts();
    const probes = healthProbes(p, ['SECRETS_KEY_MISMATCH', 'OUTPUT_UNAVAILABLE', 'LOGIN_REFUSED']);
    expect(Object.keys(probes).sort()).toEqual(['OUTPUT_UNAVAILABLE', 'SECRETS_KEY_MISMATCH']);
    expect(await probes.SECRETS_KEY_MISMATCH!()).toBe(true);
    expect(Object.keys(HEALTH_PROBES)).toEqual([
      'AUTH_REFRESH_REFUSED',
      'SECRETS_KEY_MISMATCH',
      'OUTPUT_UNAVAILABLE',
      'LMS_UNREACHABLE',
      'BROWSER_UNAVAILABLE',
    ]);
  });

  it('a token that needs a person stays refused; a working one clears the pause', async () => {
    expect(await HEALTH_PROBES.AUTH_REFRESH_REFUSED(parts({ state: 'reauth-required' }).p)).toBe(false);
    expect(await HEALTH_PROBES.AUTH_REFRESH_REFUSED(parts({ state: 'not-bootstrapped' }).p)).toBe(false);
    expect(await HEALTH_PROBES.AUTH_REFRESH_REFUSED(parts().p)).toBe(true);
  });

  it('an unwritable OUTPUT_DIR throws; an LMS that answers resets the outage clock', async () => {
    await expect(HEALTH_PROBES.OUTPUT_UNAVAILABLE(parts({ writable: false }).p)).rejects.toThrow('read-only');
    const up = parts();
    expect(await HEALTH_PROBES.LMS_UNREACHABLE(up.p)).toBe(true);
    expect(up.deleted).toEqual(['p:fleet:lms-unreachable-since']);
    const down = parts({ reachable: false });
    expect(await HEALTH_PROBES.LMS_UNREACHABLE(down.p)).toBe(false);
    expect(down.deleted).toEqual([]);
  });
});
