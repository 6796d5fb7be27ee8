import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver } from '../drivers/driver.js';
import type { FinishedStatus } from '../job.js';
import { retryTransient } from './transient-retry.js';

/** The least wait before asking again while another purge runs (a pause of 0 must not spin). */
const BUSY_RETRY_MS = 100;

export interface PurgeBatchesOptions {
  olderThanSeconds: number;
  statuses: FinishedStatus[];
  /** Jobs per purge_jobs call: each call is one short transaction. */
  batchSize: number;
  /**
   * Between two calls, so that the queue's own work gets through; at least as long as the last
   * call took, so that a purge keeps the database busy at most half of the time and backs off by
   * itself when the database is slow.
   */
  pauseMs: number;
  /**
   * When another batched purge is running ('busy'): 'wait' tries again after the pause (an
   * operator's purge finishes its work); 'give-up' ends here (a retention pass leaves the
   * work to the purger already at it).
   */
  whenBusy: 'wait' | 'give-up';
  /** Ends the loop between two calls. */
  signal?: AbortSignal;
  /** Told after every call that deleted jobs. */
  onBatch?: (purged: number) => void;
}

export interface PurgeBatchesResult {
  purged: number;
  /** Ended because another purge was running (whenBusy 'give-up'). */
  gaveUp: boolean;
}

/**
 * Deletes finished jobs in batches of purge_jobs(older_than, statuses, batch_size) until a call
 * finds fewer than a batch left: many short transactions instead of one long one, with a pause
 * between them at least as long as the call took. Each call is retried on transient errors like
 * every one-off call.
 */
export async function purgeInBatches(driver: Pick<Driver, 'purge'>, options: PurgeBatchesOptions): Promise<PurgeBatchesResult> {
  const { olderThanSeconds, statuses, batchSize, pauseMs, signal } = options;
  let purged = 0;
  while (!signal?.aborted) {
    const started = performance.now();
    const batch = await retryTransient(() => driver.purge(olderThanSeconds, statuses, batchSize));
    const tookMs = performance.now() - started;
    if (batch === null && options.whenBusy === 'give-up') return { purged, gaveUp: true };
    if (batch !== null) {
      purged += batch;
      if (batch > 0) options.onBatch?.(batch);
      if (batch < batchSize) break;
    }
    await sleep(batch === null ? Math.max(pauseMs, BUSY_RETRY_MS) : Math.max(pauseMs, tookMs), undefined, { signal }).catch(() => undefined);
  }
  return { purged, gaveUp: false };
}
