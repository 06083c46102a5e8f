import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { Logger } from '../log/index.ts';
import type { FleetBreaker, Trip } from './breaker.ts';
import type { PauseReason } from './pause-reason.ts';

/**
 * A fault stays where it happens. Some pause reasons are seen by one process only — its
 * SECRETS_KEY does not open the shared store, its OUTPUT_DIR is unwritable or full, its Chromium
 * does not start — while every other worker goes on fine. Those take only this worker out of
 * service: it stops taking jobs, says why (`/readyz`, one error line, a record in Redis that
 * `status` shows), re-checks on its own and rejoins once the cause is gone. The fleet is paused
 * for such a reason only with fleet-wide evidence: every live worker reports the same fault.
 * Every other reason (a refused token or login, the LMS unreachable) is the LMS's or a shared
 * resource's, and pauses the fleet at once.
 */
export const LOCAL_REASONS: ReadonlySet<PauseReason> = new Set<PauseReason>([
  'SECRETS_KEY_MISMATCH',
  'OUTPUT_UNAVAILABLE',
  'BROWSER_UNAVAILABLE',
]);

/** Whether `reason` belongs to the process that saw it (else to the whole fleet). */
export const isLocalReason = (reason: PauseReason): boolean => LOCAL_REASONS.has(reason);

/** One worker out of service, as Redis keeps it for `status` and the other workers. */
export interface LocalFaultRecord extends Trip {
  /** ISO 8601. */
  since: string;
  /** `host:pid:tag` of the worker. */
  by: string;
}

export interface LocalFaultsOptions {
  redis: RedisConnection;
  prefix: string;
  breaker: FleetBreaker;
  logger: Logger;
  /** Per local reason, how this worker tells the cause is gone. */
  probes: Partial<Record<PauseReason, () => Promise<boolean>>>;
  /** How often to say "alive" and re-check a fault. Default 5 000 ms. */
  everyMs?: number;
}

/** What the worker does when it goes out of service and comes back. */
export interface LocalFaultHooks {
  out(): void;
  back(): void;
}

const aliveKey = (prefix: string) => `${prefix}:fleet:alive`;
const faultKey = (prefix: string, id: string) => `${prefix}:fleet:fault:${id}`;

/** This process's local faults, and the fleet's view of them (see LOCAL_REASONS). */
export class LocalFaults {
  /** `host:pid:tag`: two workers in one process are two workers. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  readonly #opts: LocalFaultsOptions;
  readonly #everyMs: number;
  #out: LocalFaultRecord | undefined;
  #hooks: LocalFaultHooks | undefined;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;

  constructor(options: LocalFaultsOptions) {
    this.#opts = options;
    this.#everyMs = options.everyMs ?? 5_000;
  }

  /** The fault that keeps this worker out of service, if any (`/readyz`). */
  current(): LocalFaultRecord | undefined {
    return this.#out;
  }

  /** Start saying "alive" and re-checking; `hooks` stop and resume this worker's job intake. */
  async start(hooks: LocalFaultHooks): Promise<void> {
    this.#hooks = hooks;
    if (this.#out) hooks.out();
    await this.#heartbeat();
    this.#timer = setInterval(() => void this.tick(), this.#everyMs);
    this.#timer.unref();
  }

  /**
   * Pause for `trip`: the fleet for a fleet-wide reason; this worker only for a local one (the
   * fleet too when every live worker reports the same). Returns whether the fleet was paused.
   */
  async trip(trip: Trip): Promise<boolean> {
    if (!isLocalReason(trip.reason)) return this.#opts.breaker.trip(trip);
    if (this.#out?.reason !== trip.reason) {
      this.#out = { ...trip, since: new Date().toISOString(), by: this.id };
      this.#opts.logger.error(
        { pauseReason: trip.reason, fix: trip.fix, detail: trip.message, worker: this.id },
        `this worker is out of service (${trip.reason}): ${trip.message} — fix: ${trip.fix}; ` +
          'the other workers go on, and this one rejoins by itself once the cause is gone',
      );
      this.#hooks?.out();
    }
    // Counted among the live workers even before start() (a fault met by the start-up checks).
    await this.#heartbeat();
    await this.#record();
    return this.#escalate();
  }

  /** One round now: say "alive", and re-check a fault (tests; the timer does it on its own). */
  tick(): Promise<void> {
    this.#round ??= this.#check()
      .catch((err: unknown) =>
        this.#opts.logger.warn({ err }, 'local fault check failed; trying again later'),
      )
      .finally(() => (this.#round = undefined));
    return this.#round;
  }

  /** Leave the fleet's view: no longer alive, no fault. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const { redis, prefix } = this.#opts;
    await redis
      .multi()
      .zrem(aliveKey(prefix), this.id)
      .del(faultKey(prefix, this.id))
      .exec()
      .catch(() => undefined);
  }

  async #check(): Promise<void> {
    await this.#heartbeat();
    const out = this.#out;
    if (!out) return;
    const probe = this.#opts.probes[out.reason];
    const gone = probe ? await probe().catch(() => false) : false;
    if (!gone) {
      await this.#record();
      await this.#escalate();
      return;
    }
    this.#out = undefined;
    await this.#opts.redis.del(faultKey(this.#opts.prefix, this.id));
    this.#opts.logger.warn(
      { pauseReason: out.reason, worker: this.id },
      `the cause is gone (${out.reason}): this worker takes jobs again`,
    );
    this.#hooks?.back();
  }

  async #heartbeat(): Promise<void> {
    const { redis, prefix } = this.#opts;
    const now = Date.now();
    await redis
      .multi()
      .zadd(aliveKey(prefix), now, this.id)
      .zremrangebyscore(aliveKey(prefix), '-inf', now - this.#liveForMs())
      .exec();
  }

  async #record(): Promise<void> {
    if (!this.#out) return;
    await this.#opts.redis.set(
      faultKey(this.#opts.prefix, this.id),
      JSON.stringify(this.#out),
      'PX',
      this.#liveForMs(),
    );
  }

  /** A worker that has not said "alive" for three rounds is gone. */
  #liveForMs(): number {
    return this.#everyMs * 3;
  }

  /** Pause the fleet when every live worker reports this worker's reason. */
  async #escalate(): Promise<boolean> {
    const out = this.#out;
    if (!out) return false;
    const faults = await workersOutOfService(this.#opts.redis, this.#opts.prefix, this.#liveForMs());
    const live = faults.live;
    const same = faults.out.filter((f) => f.reason === out.reason);
    if (live.length === 0 || same.length < live.length) return false;
    return this.#opts.breaker.trip({
      reason: out.reason,
      message:
        `every live worker (${live.length}) reports it: ${same.map((f) => `${f.by}: ${f.message}`).join('; ')}`.slice(
          0,
          2000,
        ),
      fix: out.fix,
    });
  }
}

/** The live workers, and those out of service with their faults (for `status` and escalation). */
export async function workersOutOfService(
  redis: RedisConnection,
  prefix: string,
  liveForMs = 15_000,
): Promise<{ live: string[]; out: LocalFaultRecord[] }> {
  const live = await redis.zrangebyscore(aliveKey(prefix), Date.now() - liveForMs, '+inf');
  if (live.length === 0) return { live, out: [] };
  const raw = await redis.mget(live.map((id) => faultKey(prefix, id)));
  const out: LocalFaultRecord[] = [];
  for (const text of raw) {
    if (!text) continue;
    try {
      out.push(JSON.parse(text) as LocalFaultRecord);
    } catch {
      // a record we cannot read says nothing
    }
  }
  return { live, out };
}
