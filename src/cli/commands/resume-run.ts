/** What `certharvest resume` does, loaded when it runs (its help: resume.ts). */
import { openContext } from '../context.ts';
import { describePause } from '../pause-report.ts';

export async function run(): Promise<void> {
  const ctx = await openContext();
  try {
    const lifted = await ctx.breaker.resume(`cli:${process.pid}`);
    if (lifted) {
      console.log(`resumed the fleet (it was paused for ${lifted.reason} since ${lifted.since}).`);
      console.log('If the cause is still there, the first job that meets it pauses the fleet again:');
      console.log(describePause(lifted).split('\n')[1]);
    } else {
      console.log('the fleet was not paused (the queues are resumed anyway).');
    }
  } finally {
    await ctx.close();
  }
}
