import type { Job } from 'bullmq';
import type { Logger } from '../src/log/index.ts';

/** A line in both the job's Bull Board log and pino (debug). */
export function jobLogger(job: Job, logger: Logger): (line: string) => void {
  return (line) => {
    logger.debug(line);
    void job.log(`${new Date().toISOString()} ${line}`).catch(() => {});
  };
}
