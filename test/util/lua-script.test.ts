import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaScript } from '../../src/util/lua-script.ts';
import { dataNodes } from '../../src/util/redis-nodes.ts';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir, withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;
beforeAll(async () => ({ redis, prefix, close } = await withRedis('lua')));
afterAll(() => close());

describe('LuaScript', () => {
  const script = new LuaScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);

  it('runs by SHA1, and sends the body again after Redis forgot it (NOSCRIPT)', async () => {
    const key = `${prefix}:n`;
    for (const node of dataNodes(redis)) await node.script('FLUSH');
    expect(await script.run(redis, [key], [2])).toBe(2); // NOSCRIPT, then EVAL
    // Loaded where it ran: the node of its key (on a cluster, one of the masters).
    const loaded = await Promise.all(dataNodes(redis).map((node) => node.script('EXISTS', script.sha)));
    expect(loaded.flat()).toContain(1);
    expect(await script.run(redis, [key], [3])).toBe(5); // EVALSHA
    await redis.del(key);
  });

  it('lets a script error through', async () => {
    await expect(
      new LuaScript(`return redis.call('NOSUCHCOMMAND')`).run(redis, [`${prefix}:k`]),
    ).rejects.toThrow(/unknown command|Unknown Redis command/i);
  });

  it('reads a .lua file with its includes and constants, and refuses a constant it was not given', async () => {
    const dir = await tempDir('lua');
    await writeFile(path.join(dir.dir, 'helpers.lua'), 'local function twice(n) return n * {{FACTOR}} end\n');
    await writeFile(
      path.join(dir.dir, 'main.lua'),
      "--#include helpers\nreturn twice(tonumber(redis.call('INCRBY', KEYS[1], ARGV[1])))\n",
    );
    const file = pathToFileURL(path.join(dir.dir, 'main.lua'));
    const loaded = LuaScript.fromFile(file, { constants: { FACTOR: 2 } });
    expect(loaded.source).not.toMatch(/#include|\{\{/);
    expect(await loaded.run(redis, [`${prefix}:file`], [5])).toBe(10);
    expect(() => LuaScript.fromFile(file)).toThrow(/no value for \{\{FACTOR\}\}/);
    await dir.cleanup();
  });
});
