/** Jobs faster than this on average make the processor claim ahead into a local buffer. */
const PREFETCH_BELOW_AVERAGE_MS = 50;
/** The buffer holds about this much work (at the current average job time). */
const BUFFER_TARGET_MS = 100;
const MAX_PREFETCH = 500;

/**
 * How many jobs to hold claimed beyond the free slots: none while jobs are long (another worker
 * may be idle), and for short jobs about BUFFER_TARGET_MS of work, so that one claim feeds many.
 */
export class Prefetch {
  /** Moving average of handler run time; prefetch starts once it shows short jobs. */
  #averageMs = Number.POSITIVE_INFINITY;

  recordRunTime(ms: number): void {
    this.#averageMs = this.#averageMs === Number.POSITIVE_INFINITY ? ms : this.#averageMs * 0.9 + ms * 0.1;
  }

  size(maxConcurrentJobs: number): number {
    if (!(this.#averageMs < PREFETCH_BELOW_AVERAGE_MS)) return 0;
    const jobsInTarget = (maxConcurrentJobs * BUFFER_TARGET_MS) / Math.max(this.#averageMs, 0.1);
    return Math.round(Math.min(MAX_PREFETCH, Math.max(maxConcurrentJobs, jobsInTarget)));
  }
}
