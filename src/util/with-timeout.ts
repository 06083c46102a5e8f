import { CertharvestError } from '../errors/index.ts';

/** An operation that did not finish in time. Retryable. */
export class TimeoutError extends CertharvestError {
  readonly retryable = true;

  constructor(what: string, ms: number) {
    super('TIMEOUT', `${what} did not finish within ${ms} ms`);
  }
}

/** Race `promise` against a timer; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
