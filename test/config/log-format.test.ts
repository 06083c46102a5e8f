/**
 * LOG_FORMAT: `json` or `pretty`, anything else refused at start-up; unset, the logger writes
 * pretty lines on a TTY and JSON otherwise.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { createLogger, logFormatOf } from '../../src/log/index.ts';

const load = (env: Record<string, string>) => loadConfig({ env, envFile: false, cwd: '/srv/x', needs: [] });

describe('LOG_FORMAT', () => {
  it('takes json and pretty; unset leaves the choice to the logger', () => {
    expect(load({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(load({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(load({}).logFormat).toBeUndefined();
  });

  it('refuses anything else, naming the variable and the choices', () => {
    let error: unknown;
    try {
      load({ LOG_FORMAT: 'xml' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toMatch(/LOG_FORMAT.*json or pretty/);
  });

  it('decides pretty on a TTY and json otherwise, unless LOG_FORMAT says', () => {
    expect(logFormatOf({}, true)).toBe('pretty');
    expect(logFormatOf({}, false)).toBe('json');
    expect(logFormatOf({ format: 'json' }, true)).toBe('json');
    expect(logFormatOf({ format: 'pretty' }, false)).toBe('pretty');
  });

  it('json writes one JSON object a line', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    createLogger({ format: 'json', destination }).info({ batchId: 'b1' }, 'hello');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'hello', batchId: 'b1', level: 30 });
  });
});
