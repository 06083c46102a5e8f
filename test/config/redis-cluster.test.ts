/**
 * The Redis side of the configuration: a hash-tagged QUEUE_PREFIX, REDIS_CLUSTER and
 * REDIS_CLUSTER_NODES, and what a cluster refuses at start-up (checked here without a cluster;
 * `npm run test:cluster` runs the suites on a real one).
 */
import { describe, expect, it } from 'vitest';
import { hashTagOf, loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';

const load = (env: Record<string, string>) => loadConfig({ env, envFile: false });

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('QUEUE_PREFIX', () => {
  it('takes a plain name or one hash tag wrapping it whole', () => {
    expect(load({}).queuePrefix).toBe('certharvest');
    expect(load({ QUEUE_PREFIX: '{certharvest}' }).queuePrefix).toBe('{certharvest}');
    expect(load({ QUEUE_PREFIX: '{test-env_2}' }).queuePrefix).toBe('{test-env_2}');
    expect(hashTagOf('{certharvest}')).toBe('certharvest');
    expect(hashTagOf('certharvest')).toBeUndefined();
  });

  it('refuses other braces, colons and empty tags, saying what is expected', () => {
    for (const bad of ['{}', '{a}b', 'a{b}', '{a', 'a}', '{a:b}', 'a:b', '{{a}}']) {
      const [problem] = problemsOf(() => load({ QUEUE_PREFIX: bad }));
      expect(problem).toContain(
        'QUEUE_PREFIX: expected letters, digits, "-" or "_", optionally wrapped in {}',
      );
      expect(problem).toContain(`got "${bad}"`);
    }
  });
});

describe('REDIS_CLUSTER and REDIS_CLUSTER_NODES', () => {
  it('one Redis server unless asked: no cluster section', () => {
    expect(load({ QUEUE_PREFIX: '{certharvest}' }).redisCluster).toBeUndefined();
  });

  it("REDIS_CLUSTER=true seeds the cluster with REDIS_URL's node (6379 when it names no port)", () => {
    const env = { REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{certharvest}' };
    expect(load({ ...env, REDIS_URL: 'rediss://user:pw@cache.example:7000' }).redisCluster).toEqual({
      nodes: [{ host: 'cache.example', port: 7000 }],
    });
    expect(load({ ...env, REDIS_URL: 'redis://[::1]' }).redisCluster).toEqual({
      nodes: [{ host: '::1', port: 6379 }],
    });
  });

  it('REDIS_CLUSTER_NODES lists the seed nodes (and means a cluster by itself)', () => {
    const config = load({
      REDIS_CLUSTER_NODES: '10.0.0.1:6379, 10.0.0.2:6380,[fd00::3]:6381',
      QUEUE_PREFIX: '{certharvest}',
    });
    expect(config.redisCluster?.nodes).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: '10.0.0.2', port: 6380 },
      { host: 'fd00::3', port: 6381 },
    ]);
    for (const bad of ['10.0.0.1', '10.0.0.1:0', 'a:70000', 'x:1,,y:2']) {
      expect(problemsOf(() => load({ REDIS_CLUSTER_NODES: bad, QUEUE_PREFIX: '{c}' }))[0]).toMatch(
        /^REDIS_CLUSTER_NODES: expected host:port seed nodes separated by commas/,
      );
    }
  });

  it('a cluster with an untagged prefix is refused at start-up, naming the prefix to set', () => {
    expect(problemsOf(() => load({ REDIS_CLUSTER: 'true' }))).toEqual([
      expect.stringMatching(
        /^QUEUE_PREFIX: a Redis Cluster needs a hash-tagged prefix.*set QUEUE_PREFIX=\{certharvest\}/,
      ),
    ]);
    const [problem] = problemsOf(() => load({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_PREFIX: 'school-a' }));
    expect(problem).toContain('set QUEUE_PREFIX={school-a} (got "school-a")');
  });

  it('a cluster has database 0 only: a database number in REDIS_URL is refused, the URL never echoed', () => {
    const problems = problemsOf(() =>
      load({ REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{c}', REDIS_URL: 'redis://:secret@cache:6379/2' }),
    );
    expect(problems).toEqual([
      'REDIS_URL: a Redis Cluster has database 0 only; drop the database number (value hidden)',
    ]);
    expect(problems.join()).not.toContain('secret');
    expect(
      load({ REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{c}', REDIS_URL: 'redis://cache:6379/0' }),
    ).toBeTruthy();
  });

  it('a tagged prefix on one server is fine (the same keys, ready to move to a cluster)', () => {
    expect(load({ QUEUE_PREFIX: '{certharvest}' }).redisCluster).toBeUndefined();
  });
});
