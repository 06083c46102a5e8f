import type { Job } from 'bullmq';
import type { Logger } from '../src/log/index.ts';

/**
 * What a job writes to its Bull Board log: one summary line per job. The steps on the way (a
 * session renewed, a route found missing) are kept in memory and written only when the job fails,
 * or at once at debug level: every line is a Redis call, and a job that worked needs one.
 */
export interface JobLog {
  /** A step: written only if the job fails (or at debug level); always to pino at debug. */
  step(line: string): void;
  /** The job's summary line: always written. */
  summary(line: string): void;
  /** The job is failing: write the steps kept so far. */
  flush(): void;
}

export function jobLog(job: Job, logger: Logger): JobLog {
  const verbose = logger.isLevelEnabled('debug');
  const kept: string[] = [];
  const write = (line: string) => void job.log(line).catch(() => {});
  const stamped = (line: string) => `${new Date().toISOString()} ${line}`;
  return {
    step(line) {
      logger.debug(line);
      if (verbose) write(stamped(line));
      else kept.push(stamped(line));
    },
    summary(line) {
      logger.debug(line);
      write(stamped(line));
    },
    flush() {
      for (const line of kept.splice(0)) write(line);
    },
  };
}
