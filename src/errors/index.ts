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

/** A wrong or missing setting: the program stops with exit code 2. One line per problem. */
export class ConfigError extends CertharvestError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
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
