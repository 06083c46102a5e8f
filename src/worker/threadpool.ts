/**
 * libuv runs every file-system call on a pool of threads, 4 unless `UV_THREADPOOL_SIZE` says
 * otherwise, and a stored certificate waits on two fsyncs (the PDF, then its folder). With more
 * downloads in flight than threads, the fsyncs queue behind each other and every job waits: at
 * DOWNLOAD_CONCURRENCY 16 on ext4 the download phase ran at 0.70× the plain loop with 4 threads
 * and 0.80× with 32 (docs/benchmarks.md).
 *
 * The variable is read once, when the pool starts, which happens before any of our code runs (the
 * module loader reads files through it), so it must be in the environment that starts Node: the
 * Docker image and the npm scripts set it; a worker started without it says so once.
 */
export const RECOMMENDED_THREADPOOL_SIZE = 32;

const LIBUV_DEFAULT = 4;

/** A warning for the worker's start-up log when the pool is smaller than the downloads in flight. */
export function threadpoolAdvice(env: NodeJS.ProcessEnv, downloadConcurrency: number): string | undefined {
  const size = Number(env.UV_THREADPOOL_SIZE) || LIBUV_DEFAULT;
  if (size >= Math.min(downloadConcurrency, RECOMMENDED_THREADPOOL_SIZE)) return undefined;
  return (
    `UV_THREADPOOL_SIZE is ${env.UV_THREADPOOL_SIZE ?? `unset (${LIBUV_DEFAULT})`}, fewer threads than ` +
    `DOWNLOAD_CONCURRENCY (${downloadConcurrency}): fsyncs will queue and downloads slow down. ` +
    `Start the worker with UV_THREADPOOL_SIZE=${RECOMMENDED_THREADPOOL_SIZE} in its environment.`
  );
}
