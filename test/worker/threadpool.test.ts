import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RECOMMENDED_THREADPOOL_SIZE, threadpoolAdvice } from '../../src/worker/threadpool.ts';

describe('threadpoolAdvice', () => {
  it('warns when the pool has fewer threads than the downloads in flight, naming the fix', () => {
    expect(threadpoolAdvice({}, 16)).toMatch(/UV_THREADPOOL_SIZE is unset \(4\).*UV_THREADPOOL_SIZE=32/);
    expect(threadpoolAdvice({ UV_THREADPOOL_SIZE: '8' }, 16)).toMatch(
      /is 8, fewer threads than DOWNLOAD_CONCURRENCY \(16\)/,
    );
    expect(threadpoolAdvice({ UV_THREADPOOL_SIZE: '32' }, 16)).toBeUndefined();
    expect(threadpoolAdvice({}, 4)).toBeUndefined();
    expect(threadpoolAdvice({ UV_THREADPOOL_SIZE: '32' }, 64)).toBeUndefined(); // enough: capped at 32
  });

  it('the Docker image and the npm scripts start Node with the recommended pool', async () => {
    const setting = `UV_THREADPOOL_SIZE=${RECOMMENDED_THREADPOOL_SIZE}`;
    expect(await readFile('Dockerfile', 'utf8')).toContain(setting);
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.demo).toContain(setting);
    expect(scripts.bench).toContain(setting);
  });
});
