import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { jitteredInterval } from './jittered-interval.js';

export interface ExpiredLeaseReclaimerOptions {
  driver: Pick<Driver, 'reclaimExpired'>;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'reclaimed'>;
  intervalMs: number;
  /** Told when jobs went back to pending (so that a claim can pick them up now). */
  onReclaimed?: (count: number) => void;
}

/**
 * Every RECLAIM_INTERVAL_MS, reclaim_expired_jobs(): jobs whose worker stopped renewing their
 * lease go back to pending (or fail when out of attempts). Any worker may run it; the SQL is safe
 * to run concurrently. Started by the Worker beside the processor.
 */
export class ExpiredLeaseReclaimer {
  readonly #options: ExpiredLeaseReclaimerOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ExpiredLeaseReclaimerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer ??= jitteredInterval(this.#options.intervalMs, () => void this.reclaim());
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async reclaim(): Promise<void> {
    const { driver, logger, metrics } = this.#options;
    try {
      const count = await driver.reclaimExpired();
      if (count > 0) {
        metrics.reclaimed.inc(count);
        logger.info({ count }, 'reclaimed jobs whose lease expired');
        this.#options.onReclaimed?.(count);
      }
    } catch (error) {
      logger.warn({ err: error }, 'reclaiming expired jobs failed');
    }
  }
}
