import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { borrowingLimit } from '../../src/util/borrowing-limit.ts';

/** A task that runs until `release()`, counting how many run at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, release: () => open() };
}

describe('borrowingLimit', () => {
  it("runs in its own slots, then in the lender's idle ones, then waits", async () => {
    const own = pLimit(2);
    const lender = pLimit(3);
    const limit = borrowingLimit(own, lender);
    const g = gate();
    let running = 0;
    let most = 0;
    const task = () =>
      limit(async () => {
        most = Math.max(most, ++running);
        await g.opened;
        running--;
      });
    const all = Array.from({ length: 8 }, task);
    await Promise.resolve();
    expect([own.activeCount, lender.activeCount]).toEqual([2, 3]);
    expect(own.pendingCount).toBe(3);
    g.release();
    await Promise.all(all);
    expect(most).toBe(5);
  });

  it('leaves the lender alone while it has work of its own waiting', async () => {
    const own = pLimit(1);
    const lender = pLimit(1);
    const limit = borrowingLimit(own, lender);
    const g = gate();
    const lenderWork = [lender(() => g.opened), lender(() => g.opened)];
    const mine = [limit(() => g.opened), limit(() => g.opened)];
    await Promise.resolve();
    expect([own.activeCount, own.pendingCount]).toEqual([1, 1]);
    expect([lender.activeCount, lender.pendingCount]).toEqual([1, 1]);
    g.release();
    await Promise.all([...lenderWork, ...mine]);
  });
});
