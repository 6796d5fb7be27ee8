import { WaitTimeoutError } from '../errors.js';
import type { Job } from '../job.js';
import type { JobWatch } from '../drivers/driver.js';

/** A job in one of these states will not change by itself any more. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export interface WaitOptions {
  /** Give up after this long (default 60 s): rejects with WAIT_TIMEOUT. */
  timeoutMs?: number;
  /**
   * Pause between two looks while the job's end will be notified (default 1 s): a fallback, since
   * the notification ends a pause at once. While it will not (the watch is not in place yet, or the
   * transport cannot notify: a transaction pooler, Realtime unavailable), pauses grow from 50 ms
   * to this.
   */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until the job is completed, failed or cancelled and returns it. `watch` follows the job
 * through the transport's notifications (Driver.watchJob): each nudge means look now. Polling is
 * the fallback: notifications nudge, polling guarantees.
 */
export async function waitForJob(
  id: string,
  look: (id: string) => Promise<Job | null>,
  watch: (nudge: () => void) => JobWatch,
  options: WaitOptions = {},
): Promise<Job> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | undefined;
  let nudged = false;
  const watching = watch(() => {
    nudged = true;
    wake?.();
  });
  try {
    for (let backoff = 50; ; backoff = Math.min(backoff * 2, pollMs)) {
      options.signal?.throwIfAborted();
      nudged = false;
      const job = await look(id);
      if (!job) throw Object.assign(new Error(`job ${id} does not exist`), { code: 'INVALID_ARGUMENT' });
      if (FINISHED_STATUSES.has(job.status)) return job;
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(id, timeoutMs);
      // A nudge during the look may have come after the row was read: look again at once.
      if (nudged) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(watching.live ? pollMs : backoff, left));
        const onAbort = () => done();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    watching.stop();
  }
}
