import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value (password, client secret, token, key). It prints, serialises and inspects as
 * `[redacted]`, so it cannot leak through a log line, `JSON.stringify` or an error message by
 * accident; `reveal()` is the single, greppable way to get the value out.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
