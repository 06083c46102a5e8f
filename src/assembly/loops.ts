/**
 * The worker's background loops in one list: each starts in order and they stop in reverse, in
 * one place, whether the worker stops or a start (the start-up checks included) fails half-way.
 */
import type { Logger } from '../log/index.ts';

/** How the worker is stopping: the grace the active jobs get. */
export interface StopContext {
  graceMs: number;
}

/** Something running that can be stopped. */
export interface Stoppable {
  stop(how: StopContext): void | Promise<void>;
}

/** A background loop: a name for the logs, and how to start it. */
export interface Loop<S extends Stoppable = Stoppable> {
  name: string;
  start(): Promise<S> | S;
}

/** A loop that needs no stopping (a check that runs once). */
export const NOTHING_TO_STOP: Stoppable = { stop: () => undefined };

/** The loops started so far; `stop()` stops them in reverse order, each once. */
export class RunningLoops {
  readonly #started: { name: string; running: Stoppable }[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Start `loop` after the ones before it; when it throws, it is not running (nothing to stop). */
  async start<S extends Stoppable>(loop: Loop<S>): Promise<S> {
    const running = await loop.start();
    this.#started.push({ name: loop.name, running });
    return running;
  }

  /** Names of the running loops, in start order. */
  names(): string[] {
    return this.#started.map((s) => s.name);
  }

  /** Stop every started loop, last started first; one that fails to stop is logged, the rest still stop. */
  async stop(how: StopContext): Promise<void> {
    for (let entry = this.#started.pop(); entry; entry = this.#started.pop()) {
      try {
        await entry.running.stop(how);
      } catch (err) {
        this.#logger.warn({ err, loop: entry.name }, 'a background loop failed to stop');
      }
    }
  }
}

/**
 * Start `loops` in order. If one fails to start, the ones already running are stopped (in
 * reverse) and the error is thrown on.
 */
export async function startLoops(
  running: RunningLoops,
  loops: readonly Loop[],
  how: StopContext = { graceMs: 0 },
): Promise<void> {
  try {
    for (const loop of loops) await running.start(loop);
  } catch (err) {
    await running.stop(how);
    throw err;
  }
}
