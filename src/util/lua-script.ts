import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The part of an ioredis client a script needs (a `Redis` or a `Cluster`). */
export interface ScriptRunner {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * A Lua script run by its SHA1 (`EVALSHA`): the body crosses the wire and is hashed by Redis only
 * the first time, or after Redis forgot it (`NOSCRIPT`: a restart or `SCRIPT FLUSH`).
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * A script kept in a `.lua` file, read once (at start). A line `--#include <name>` is replaced
   * by the file `<name>.lua` beside it; `{{NAME}}` by `constants.NAME` (a missing one throws, so
   * a typo never reaches Redis).
   */
  static fromFile(file: URL, options: { constants?: Record<string, string | number> } = {}): LuaScript {
    const read = (url: URL): string =>
      readFileSync(url, 'utf8').replace(/^--#include ([\w-]+)[ \t]*$/gm, (_line, name: string) =>
        read(new URL(`./${name}.lua`, url)),
      );
    const source = read(file).replace(/\{\{(\w+)\}\}/g, (_all, name: string) => {
      const value = options.constants?.[name];
      if (value === undefined) throw new Error(`${file.pathname}: no value for {{${name}}}`);
      return String(value);
    });
    return new LuaScript(source);
  }

  /**
   * Run with `keys` (KEYS) and `args` (ARGV). At least one key: a Redis Cluster runs the script
   * on the node that holds its keys' slot, and a script that touches keys it did not declare must
   * declare one of their slot (with a hash-tagged prefix, any key of the prefix).
   */
  async run(
    redis: ScriptRunner,
    keys: readonly [string, ...string[]],
    args: readonly (string | number)[] = [],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
