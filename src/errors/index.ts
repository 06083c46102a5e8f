/**
 * Every error certharvest raises on purpose carries a stable string `code`, so callers (the CLI's
 * exit codes, the job processors' retry decisions, logs) can branch on it without matching text.
 */
export class CertharvestError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An error that will be the same on a retry: the failure policy gives up on it. */
export abstract class PermanentError extends CertharvestError {
  readonly retryable = false;
}

/** An error that may pass: the failure policy retries it (or waits, by its type). */
export abstract class TransientError extends CertharvestError {
  readonly retryable = true;
}

/** A service (the LMS, its token endpoint) did not answer usefully: down, slow, 5xx. Try later. */
export abstract class ServiceUnavailableError extends TransientError {
  /** HTTP status, or undefined for a network error or timeout. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/** Something given is wrong in one or more ways: each problem is one line, listed in the message. */
export class ProblemListError extends CertharvestError {
  readonly problems: readonly string[];

  /** `what` heads the list: `invalid configuration` → "invalid configuration:\n  - <problem>…". */
  constructor(code: string, what: string, problems: readonly string[]) {
    super(code, `${what}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** A wrong or missing setting: the program stops with exit code 2. One line per problem. */
export class ConfigError extends ProblemListError {
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', 'invalid configuration', problems);
  }
}

/** Wrong command-line usage: exit code 2. */
export class UsageError extends CertharvestError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A needed program or service is missing from the machine (Chromium, redis-server). */
export class EnvironmentError extends CertharvestError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENVIRONMENT', message, options);
  }
}
