import type { Logger } from '../../log/index.ts';
import type { OrgUnitNameAnswer } from './types.ts';

export interface OrgUnitNamesOptions {
  /** Asks the LMS for one org unit (`BrightspaceClient.getOrgUnitName`). */
  lookup: (orgUnitId: number) => Promise<OrgUnitNameAnswer>;
  logger: Logger;
  /** Org units remembered at most; the one used longest ago is dropped first. Default 10 000. */
  maxEntries?: number;
  /**
   * A lookup that failed (5xx, timeout, a body that is not an OrgUnit) is not repeated for that
   * org unit within this long, so a broken route costs one request per org unit per period, not
   * one per certificate. Default 60 000 ms.
   */
  retryAfterMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** What is known of one org unit: its name (undefined: it has none, or no such org unit), or a failure. */
type Known = { kind: 'name'; name: string | undefined } | { kind: 'failed'; retryAt: number };

/**
 * The names of org units, for the certificates of an awards listing (the issued award carries only
 * `OrgUnitId`). Each org unit is asked of the LMS once per process; lookups of one org unit at the
 * same time share one request. The name is a nicety: `name()` never throws, and whatever goes
 * wrong leaves it undefined. A 403 (the app lacks the route's scope, or the service user the
 * permission) stops every lookup for the process's life; a 404 is remembered for that org unit.
 */
export class OrgUnitNames {
  readonly #lookup: OrgUnitNamesOptions['lookup'];
  readonly #logger: Logger;
  readonly #maxEntries: number;
  readonly #retryAfterMs: number;
  readonly #now: () => number;
  readonly #known = new Map<number, Known>();
  readonly #pending = new Map<number, Promise<string | undefined>>();
  #refused = false;
  #failureWarned = false;

  constructor(options: OrgUnitNamesOptions) {
    const maxEntries = options.maxEntries ?? 10_000;
    const retryAfterMs = options.retryAfterMs ?? 60_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError(
        `OrgUnitNames: maxEntries must be a whole number from 1, got ${String(maxEntries)}`,
      );
    }
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new TypeError(`OrgUnitNames: retryAfterMs must be 0 or more, got ${String(retryAfterMs)}`);
    }
    this.#lookup = options.lookup;
    this.#logger = options.logger;
    this.#maxEntries = maxEntries;
    this.#retryAfterMs = retryAfterMs;
    this.#now = options.now ?? Date.now;
  }

  /** Whether the LMS refused the route (403), so that nothing is asked any more. */
  get refused(): boolean {
    return this.#refused;
  }

  /** Org units remembered now (names, 404s and recent failures). */
  get size(): number {
    return this.#known.size;
  }

  /** The org unit's name, or undefined when it is not known; never throws. */
  name(orgUnitId: number): Promise<string | undefined> {
    const known = this.#known.get(orgUnitId);
    if (known?.kind === 'name') {
      this.#remember(orgUnitId, known); // used now: the last to be dropped
      return Promise.resolve(known.name);
    }
    if (this.#refused) return Promise.resolve(undefined);
    if (known?.kind === 'failed' && this.#now() < known.retryAt) return Promise.resolve(undefined);
    const pending = this.#pending.get(orgUnitId);
    if (pending) return pending;
    const asked = this.#ask(orgUnitId).finally(() => this.#pending.delete(orgUnitId));
    this.#pending.set(orgUnitId, asked);
    return asked;
  }

  async #ask(orgUnitId: number): Promise<string | undefined> {
    let answer: OrgUnitNameAnswer;
    try {
      answer = await this.#lookup(orgUnitId);
    } catch (error) {
      this.#remember(orgUnitId, { kind: 'failed', retryAt: this.#now() + this.#retryAfterMs });
      const reason = error instanceof Error ? error.message : String(error);
      // Said once as a warning; after that the same trouble is only worth a debug line.
      if (this.#failureWarned) this.#logger.debug({ orgUnitId, reason }, 'org unit name lookup failed');
      else {
        this.#failureWarned = true;
        this.#logger.warn(
          { orgUnitId, reason },
          `looking up the name of org unit ${orgUnitId} failed (${reason}); its certificates are listed without it`,
        );
      }
      return undefined;
    }
    switch (answer.kind) {
      case 'found':
        this.#remember(orgUnitId, { kind: 'name', name: answer.name ?? undefined });
        return answer.name ?? undefined;
      case 'not-found':
        this.#remember(orgUnitId, { kind: 'name', name: undefined });
        return undefined;
      case 'forbidden':
        if (!this.#refused) {
          this.#refused = true;
          this.#logger.warn(
            { missingScope: answer.missingScope },
            'the org structure route answered 403' +
              (answer.missingScope ? ` for want of the scope "${answer.missingScope}"` : '') +
              ": certificates are listed without their org unit's name from now on (add the scope to the " +
              "app's registration and OAUTH_SCOPE, or set BRIGHTSPACE_ORG_UNIT_NAMES=false to stop asking)",
          );
        }
        return undefined;
    }
  }

  #remember(orgUnitId: number, known: Known): void {
    this.#known.delete(orgUnitId);
    this.#known.set(orgUnitId, known);
    while (this.#known.size > this.#maxEntries) {
      this.#known.delete(this.#known.keys().next().value as number);
    }
  }
}
