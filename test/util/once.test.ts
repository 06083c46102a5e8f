import { describe, expect, it } from 'vitest';
import { once } from '../../src/util/once.ts';

describe('once', () => {
  it('makes the value at the first call only, and keeps it', () => {
    let made = 0;
    const value = once(() => ({ n: ++made }));
    expect(made).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(made).toBe(1);
  });

  it('keeps a value that is undefined, too', () => {
    let made = 0;
    const value = once(() => {
      made += 1;
      return undefined;
    });
    value();
    value();
    expect(made).toBe(1);
  });
});
