import { describe, expect, it } from 'vitest';
import { RunningLoops, startLoops, type Loop } from '../../src/assembly/loops.ts';
import { captureLogger } from '../helpers/index.ts';

/** A loop that records its start and its stop in `events`. */
function recorded(name: string, events: string[], fails?: 'start' | 'stop'): Loop {
  return {
    name,
    start: () => {
      if (fails === 'start') throw new Error(`${name} cannot start`);
      events.push(`start ${name}`);
      return {
        stop: ({ graceMs }) => {
          events.push(`stop ${name} (${graceMs})`);
          if (fails === 'stop') throw new Error(`${name} cannot stop`);
        },
      };
    },
  };
}

describe('background loops', () => {
  it('start in order and stop in reverse, each once, with the grace', async () => {
    const events: string[] = [];
    const loops = new RunningLoops(captureLogger().logger);
    await startLoops(loops, [recorded('a', events), recorded('b', events), recorded('c', events)]);
    expect(loops.names()).toEqual(['a', 'b', 'c']);
    await loops.stop({ graceMs: 5 });
    await loops.stop({ graceMs: 5 });
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c (5)', 'stop b (5)', 'stop a (5)']);
  });

  it('a start that fails stops what started before it, in reverse, and throws on', async () => {
    const events: string[] = [];
    const loops = new RunningLoops(captureLogger().logger);
    await expect(
      startLoops(loops, [recorded('a', events), recorded('b', events), recorded('checks', events, 'start')]),
    ).rejects.toThrow('checks cannot start');
    expect(events).toEqual(['start a', 'start b', 'stop b (0)', 'stop a (0)']);
    expect(loops.names()).toEqual([]);
  });

  it('a loop that fails to stop is logged and the others still stop', async () => {
    const events: string[] = [];
    const { logger, lines } = captureLogger();
    const loops = new RunningLoops(logger);
    await startLoops(loops, [recorded('a', events), recorded('b', events, 'stop')]);
    await loops.stop({ graceMs: 0 });
    expect(events).toEqual(['start a', 'start b', 'stop b (0)', 'stop a (0)']);
    expect(JSON.stringify(lines)).toContain('a background loop failed to stop');
  });
});
