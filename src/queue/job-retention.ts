import type { Config } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import type { FinishedStatus } from '../job.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { jitteredInterval } from './jittered-interval.js';
import { purgeInBatches } from './purge-batches.js';

/** Finished jobs in these statuses are deleted once last changed longer ago than olderThanSeconds. */
export interface RetentionRule {
  statuses: FinishedStatus[];
  olderThanSeconds: number;
}

type RetentionConfig = Pick<Config, 'retentionCompletedSeconds' | 'retentionFailedSeconds'>;

/** The rules a configuration asks for; none when retention is off (both variables 0). */
export function retentionRules(config: RetentionConfig): RetentionRule[] {
  const rules: RetentionRule[] = [];
  // Cancelled jobs go with completed ones, as with `supajobs purge`: both are ends nobody retries.
  if (config.retentionCompletedSeconds > 0) rules.push({ statuses: ['completed', 'cancelled'], olderThanSeconds: config.retentionCompletedSeconds });
  if (config.retentionFailedSeconds > 0) rules.push({ statuses: ['failed'], olderThanSeconds: config.retentionFailedSeconds });
  return rules;
}

export interface JobRetentionOptions {
  driver: Pick<Driver, 'purge'>;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'jobsPurged'>;
  rules: RetentionRule[];
  intervalMs: number;
  batchSize: number;
  pauseMs: number;
}

/**
 * Every RETENTION_INTERVAL_MS, deletes the finished jobs past retention, in short batches with a
 * pause between them. Every worker runs it, but one purges at a time: purge_jobs lets one batch
 * run at once fleet-wide and answers the others "busy", and a pass that is told so ends, leaving
 * the work to the worker already at it. Started by the Worker when a retention is configured.
 */
export class JobRetention {
  readonly #options: JobRetentionOptions;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;

  constructor(options: JobRetentionOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#stopping.signal.aborted) return;
    this.#timer ??= jitteredInterval(this.#options.intervalMs, () => void this.purgeOnce());
  }

  /** Ends the pass under way after its current batch, and waits for it. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping.abort();
    await this.#pass;
  }

  /** One pass over the rules; joins the pass already under way rather than starting a second. */
  purgeOnce(): Promise<void> {
    if (this.#stopping.signal.aborted) return Promise.resolve();
    this.#pass ??= this.#purgeAll().finally(() => (this.#pass = undefined));
    return this.#pass;
  }

  async #purgeAll(): Promise<void> {
    const { driver, logger, metrics, rules, batchSize, pauseMs } = this.#options;
    for (const rule of rules) {
      try {
        const { purged, gaveUp } = await purgeInBatches(driver, {
          ...rule,
          batchSize,
          pauseMs,
          whenBusy: 'give-up',
          signal: this.#stopping.signal,
          onBatch: (count) => metrics.jobsPurged.inc(count),
        });
        if (purged > 0) logger.info({ purged, statuses: rule.statuses, olderThanSeconds: rule.olderThanSeconds }, 'purged finished jobs past retention');
        if (gaveUp) {
          logger.debug('another purge is running: this pass is left to it');
          return;
        }
      } catch (error) {
        logger.warn({ err: error, statuses: rule.statuses }, 'purging finished jobs past retention failed');
      }
    }
  }
}
