import { withTimeout } from '../util/with-timeout.ts';

/**
 * What one check of `certharvest doctor` saw: ✔ (`true`), ✖ (`false`) or a warning that does not
 * fail the run; `skipped` when it did not apply (e.g. the `/pdf` route with
 * `DOWNLOAD_STRATEGY=browser`) or a check it needs failed.
 */
export interface CheckOutcome {
  ok: boolean | 'warn' | 'skipped';
  /** What was found, in words: versions, names, statuses. Never a secret. */
  found: string;
  /** The likely fix, for a failure or a warning. */
  fix?: string;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  /** How long the check took. */
  ms: number;
}

/** One step of the doctor: a small function of the shared state `S`. */
export interface Check<S> {
  name: string;
  /**
   * Checks whose failure makes this one pointless: it is then skipped, unrun. A check that skipped
   * itself as "not applicable" does not stop the ones that need it: they run and decide.
   */
  needs?: readonly string[];
  /** Default 60 000 ms: a check that hangs (an LMS that never answers) fails instead. */
  timeoutMs?: number;
  run(state: S): Promise<CheckOutcome>;
}

export const pass = (found: string): CheckOutcome => ({ ok: true, found });
export const fail = (found: string, fix?: string): CheckOutcome => ({
  ok: false,
  found,
  ...(fix ? { fix } : {}),
});
export const warn = (found: string, fix?: string): CheckOutcome => ({
  ok: 'warn',
  found,
  ...(fix ? { fix } : {}),
});
export const skip = (found: string): CheckOutcome => ({ ok: 'skipped', found });

/**
 * Thrown by a check that cannot run here (a part it needs was never made): the runner reports it
 * as skipped with this message, like a check that returned `skip(message)`.
 */
export class SkipCheck extends Error {
  override readonly name = 'SkipCheck';
}

/** An error's class, as `instanceof` takes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass<E> = abstract new (...args: any[]) => E;

/** One row of a failure table: the errors of a class (that `when` accepts) fail with this fix. */
export interface FailureRule<E = unknown> {
  type: ErrorClass<E>;
  when?: (error: E) => boolean;
  /** The likely fix; `undefined` for none. */
  fix: string | undefined | ((error: E) => string | undefined);
  /** What was found; default: the error's message. */
  found?: (error: E) => string;
}

/** A failure rule, typed by its error class. */
export function rule<E>(
  type: ErrorClass<E>,
  fix: FailureRule<E>['fix'],
  options: Pick<FailureRule<E>, 'when' | 'found'> = {},
): FailureRule {
  return { type, fix, ...options } as FailureRule;
}

/**
 * The outcome of the first rule matching `error`: ✖ with what it found and its fix. Anything no
 * rule names is thrown again (the runner then reports it as unexpected).
 */
export function failureOf(error: unknown, rules: readonly FailureRule[]): CheckOutcome {
  for (const r of rules) {
    if (!(error instanceof r.type) || (r.when && !r.when(error))) continue;
    const fix = typeof r.fix === 'function' ? r.fix(error) : r.fix;
    return fail(r.found ? r.found(error) : (error as Error).message, fix);
  }
  throw error;
}

export interface RunChecksOptions {
  /** Told each result as soon as it is known (the CLI prints it then). */
  onResult?: (result: CheckResult) => void;
  /** Applied to `found` and `fix` of every result before anyone sees it. */
  redact?: (text: string) => string;
  /** Turns what a check threw into its outcome. Default: ✖ with the error's message. */
  describeError?: (error: unknown, check: string) => CheckOutcome;
  /** Checks that already failed (in an earlier run on the same state): the ones needing them skip. */
  blocked?: Iterable<string>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Run `checks` in order on `state`. A check whose prerequisite failed (or was itself skipped for a
 * failure further up) is skipped without running; a check that throws or outlives its time limit
 * fails with what it threw. Never throws for a check.
 */
export async function runChecks<S>(
  checks: readonly Check<S>[],
  state: S,
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const redact = options.redact ?? ((t: string) => t);
  const describe =
    options.describeError ?? ((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
  const results: CheckResult[] = [];
  /** Checks that failed, or were skipped because something they need failed. */
  const blocked = new Set<string>(options.blocked ?? []);
  for (const check of checks) {
    const started = Date.now();
    const unmet = (check.needs ?? []).filter((n) => blocked.has(n));
    let outcome: CheckOutcome;
    if (unmet.length > 0) {
      outcome = skip(`skipped: needs ${unmet.join(' and ')}, which did not pass`);
      blocked.add(check.name);
    } else {
      const timeoutMs = check.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      try {
        outcome = await withTimeout(check.run(state), timeoutMs, `the ${check.name} check`);
      } catch (error) {
        outcome = error instanceof SkipCheck ? skip(error.message) : describe(error, check.name);
      }
      if (outcome.ok === false) blocked.add(check.name);
    }
    const result: CheckResult = {
      name: check.name,
      ok: outcome.ok,
      found: redact(outcome.found),
      ...(outcome.fix !== undefined ? { fix: redact(outcome.fix) } : {}),
      ms: Date.now() - started,
    };
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
