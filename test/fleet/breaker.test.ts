import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetBreaker } from '../../src/fleet/index.ts';
import { openQueues, type CertharvestQueues } from '../../src/queue/index.ts';
import { captureLogger, withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;
let queues: CertharvestQueues;
const log = captureLogger('warn');
let breaker: FleetBreaker;

beforeAll(async () => {
  ({ redis, prefix, close } = await withRedis('breaker'));
  queues = openQueues(redis, prefix);
  breaker = new FleetBreaker({
    redis,
    prefix,
    queues: [queues.discover, queues.download],
    logger: log.logger,
  });
});
afterAll(async () => {
  await queues.close();
  await close();
});

const trip = { reason: 'OUTPUT_UNAVAILABLE', message: 'disk full', fix: 'free space' } as const;

describe('FleetBreaker', () => {
  it('pauses every queue once, with one record and one error line, however often it is tripped', async () => {
    expect(await Promise.all([breaker.trip(trip), breaker.trip(trip), breaker.trip(trip)])).toEqual(
      expect.arrayContaining([true, false, false]),
    );
    expect(await queues.discover.isPaused()).toBe(true);
    expect(await queues.download.isPaused()).toBe(true);
    expect(await breaker.current()).toMatchObject({ reason: 'OUTPUT_UNAVAILABLE', fix: 'free space' });
    expect(log.lines.filter((l) => String(l.msg).startsWith('fleet paused'))).toHaveLength(1);
  });

  it('resumes only for the reason whose cause is gone', async () => {
    expect(await breaker.resumeIf(['LMS_UNREACHABLE'], 'test')).toBe(false);
    expect(await queues.discover.isPaused()).toBe(true);
    expect(await breaker.resumeIf(['OUTPUT_UNAVAILABLE'], 'test')).toBe(true);
    expect(await breaker.current()).toBeNull();
    expect(await queues.discover.isPaused()).toBe(false);
  });

  it('re-pauses queues that a racing resume left running under a record', async () => {
    await breaker.trip(trip);
    await queues.download.resume(); // what a resume that lost the race to a trip leaves behind
    await breaker.enforce();
    expect(await queues.download.isPaused()).toBe(true);
    await breaker.resume('test');
  });

  it('holds logins apart from the pause record, until an operator resumes', async () => {
    await breaker.trip({ reason: 'LMS_UNREACHABLE', message: 'down', fix: 'wait' });
    await breaker.holdLogins('password refused');
    await breaker.resumeIf(['LMS_UNREACHABLE'], 'probe');
    expect(await breaker.loginHold()).toBe('password refused'); // a resume for another cause keeps it
    await breaker.resume('operator');
    expect(await breaker.loginHold()).toBeNull();
  });
});
