/**
 * The LMS modules certharvest knows, by the value of `LMS`. Adding an LMS is one folder
 * (`src/lms/<kind>/`) and one line here; nothing else in the product names an LMS (a lint rule in
 * eslint.config.js keeps it so).
 */
import { blackboardModule } from './blackboard/module.ts';
import { brightspaceModule } from './brightspace/module.ts';
import type { LmsModule } from './module.ts';

export class LmsRegistry {
  readonly #modules = new Map<string, LmsModule>();

  /** Add a module; its `kind` must be new. Returns the registry, for chaining. */
  register(module: LmsModule): this {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(module.kind)) {
      throw new TypeError(
        `an LMS kind is 1-31 lowercase letters, digits or "-", got ${JSON.stringify(module.kind)}`,
      );
    }
    if (this.#modules.has(module.kind)) throw new TypeError(`the LMS ${module.kind} is registered already`);
    this.#modules.set(module.kind, module);
    return this;
  }

  /** Remove a module (tests that registered their own). */
  unregister(kind: string): void {
    this.#modules.delete(kind);
  }

  get(kind: string): LmsModule | undefined {
    return this.#modules.get(kind);
  }

  /** Every `LMS` value, the default first. */
  kinds(): string[] {
    return [...this.#modules.keys()];
  }

  /** The module used when `LMS` is unset. */
  get defaultKind(): string {
    const first = this.kinds()[0];
    if (first === undefined) throw new TypeError('no LMS module is registered');
    return first;
  }
}

/** The process's registry: the default (first) is the one used when `LMS` is unset. */
export const lmsRegistry = new LmsRegistry().register(brightspaceModule).register(blackboardModule);
