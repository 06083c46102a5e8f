import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaScript } from '../../src/util/lua-script.ts';
import { withRedis } from '../helpers/index.ts';

let redis: Redis;
let prefix: string;
let close: () => Promise<void>;
beforeAll(async () => ({ redis, prefix, close } = await withRedis('lua')));
afterAll(() => close());

describe('LuaScript', () => {
  const script = new LuaScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);

  it('runs by SHA1, and sends the body again after Redis forgot it (NOSCRIPT)', async () => {
    const key = `${prefix}:n`;
    await redis.script('FLUSH');
    expect(await script.run(redis, [key], [2])).toBe(2); // NOSCRIPT, then EVAL
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, [key], [3])).toBe(5); // EVALSHA
    await redis.del(key);
  });

  it('lets a script error through', async () => {
    await expect(new LuaScript(`return redis.call('NOSUCHCOMMAND')`).run(redis, [])).rejects.toThrow(
      /unknown command|Unknown Redis command/i,
    );
  });
});
