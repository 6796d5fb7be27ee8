import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import { jitteredInterval } from './jittered-interval.js';

export interface LeaseKeeperOptions {
  driver: Pick<Driver, 'heartbeat'>;
  workerId: string;
  leaseSeconds: number;
  logger: Logger;
  /** Told of held jobs a lease renewal found no longer held (reclaimed or cancelled). */
  onLost: (ids: ReadonlySet<string>) => void;
}

/**
 * The leases this worker holds, and their renewal. A job is held from its claim until the
 * processor lets it go (finished, released or lost) and, once it has an outcome, until the
 * recorder has stored it. Every ⅓ lease one heartbeat_jobs call renews them all.
 *
 * Ordering: a lease renewal and a completion of the same jobs lock the same rows in different
 * orders and could deadlock. So a renewal leaves out the jobs whose completion is being stored,
 * and a completion waits for the renewals under way before it is stored.
 */
export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  /** Claimed and not finished: buffered or running (the processor's). */
  readonly #claimed = new Set<string>();
  /** Finished with an outcome not stored yet (the recorder's). */
  readonly #unrecorded = new Set<string>();
  /** Of the complete_jobs call under way. */
  readonly #storing = new Set<string>();
  readonly #renewals = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer ??= jitteredInterval((this.#options.leaseSeconds * 1000) / 3, () => void this.renew());
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  claimed(id: string): void {
    this.#claimed.add(id);
  }

  /** The processor is done with the job (finished, released, lost); an unstored outcome still holds it. */
  finished(id: string): void {
    this.#claimed.delete(id);
  }

  unrecorded(id: string): void {
    this.#unrecorded.add(id);
  }

  recorded(id: string): void {
    this.#unrecorded.delete(id);
  }

  /**
   * Stores completions: their jobs are left out of renewals from now on, and the store waits for
   * the renewals already under way (which may include them). It never waits for a later one.
   */
  async storing<T>(ids: string[], store: () => Promise<T>): Promise<T> {
    for (const id of ids) this.#storing.add(id);
    try {
      await Promise.all(this.#renewals);
      return await store();
    } finally {
      for (const id of ids) this.#storing.delete(id);
    }
  }

  /** Renews every held lease; jobs no longer held are reported to onLost. */
  async renew(): Promise<void> {
    const ids = [...new Set([...this.#claimed, ...this.#unrecorded])].filter((id) => !this.#storing.has(id));
    if (ids.length === 0) return;
    const { driver, workerId, leaseSeconds, logger } = this.#options;
    const call = driver.heartbeat(workerId, ids, leaseSeconds);
    const renewal = call.catch(() => undefined);
    this.#renewals.add(renewal);
    try {
      const held = new Set(await call);
      // Only jobs this renewal asked about: a claim may have added more while it was under way.
      const lost = new Set(ids.filter((id) => !held.has(id)));
      if (lost.size > 0) this.#options.onLost(lost);
    } catch (error) {
      logger.warn({ err: error }, 'heartbeat failed');
    } finally {
      this.#renewals.delete(renewal);
    }
  }
}
