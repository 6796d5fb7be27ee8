import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { QueueStats } from '../job.js';
import { QueueControls } from './queue-controls.js';

const STATUSES = ['pending', 'scheduled', 'waiting', 'processing', 'completed', 'failed', 'cancelled'] as const;

/**
 * Reads get_queue_stats() every interval: one log line with the totals and per-queue figures,
 * the queue gauges of /metrics, and a warning when the failed (dead-letter) count grew.
 */
export class QueueMonitor {
  readonly #driver: Driver;
  readonly #logger: Logger;
  readonly #metrics: WorkerMetrics;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #lastFailed: number | undefined;
  #checking: Promise<void> | undefined;

  readonly #onReading: ((stats: QueueStats[]) => Promise<void>) | undefined;

  constructor(options: { driver: Driver; logger: Logger; metrics: WorkerMetrics; intervalMs: number; onReading?: (stats: QueueStats[]) => Promise<void> }) {
    this.#onReading = options.onReading;
    this.#driver = options.driver;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#intervalMs = options.intervalMs;
  }

  start(): void {
    if (this.#intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.check(), this.#intervalMs);
    this.#timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#checking;
  }

  /** One reading: logs it and updates the gauges. */
  check(): Promise<void> {
    this.#checking ??= this.#read().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #read(): Promise<void> {
    let stats: QueueStats[];
    try {
      stats = await this.#driver.stats();
    } catch (error) {
      this.#logger.warn({ err: error }, 'reading queue statistics failed');
      return;
    }
    this.#metrics.queueJobs.reset();
    this.#metrics.oldestPendingAge.reset();
    for (const s of stats) {
      for (const status of STATUSES) this.#metrics.queueJobs.set({ queue: s.queue, status }, s[status]);
      // Absent, not 0, while nothing is pending: 0 would read as "a job waiting 0 s".
      if (s.oldestPendingAgeSeconds !== null) this.#metrics.oldestPendingAge.set({ queue: s.queue }, s.oldestPendingAgeSeconds);
    }
    const totals = summarize(stats);
    this.#logger.info({ ...totals, queues: stats }, 'queue statistics');
    if (this.#lastFailed !== undefined && totals.failed > this.#lastFailed) {
      this.#logger.warn({ failed: totals.failed, newlyFailed: totals.failed - this.#lastFailed }, 'failed jobs increased');
    }
    this.#lastFailed = totals.failed;
    await this.#readControls();
    await this.#onReading?.(stats).catch((error: unknown) => this.#logger.warn({ err: error }, 'acting on queue statistics failed'));
  }

  /** The queue-control gauges (paused, limits) from get_queue_controls(). */
  async #readControls(): Promise<void> {
    try {
      const controls = await new QueueControls(this.#driver).list();
      const m = this.#metrics;
      for (const gauge of [m.queuePaused, m.queueMaxRunning, m.queueMaxPerSecond]) gauge.reset();
      for (const c of controls) {
        m.queuePaused.set({ queue: c.queue }, c.paused ? 1 : 0);
        if (c.maxRunning !== null) m.queueMaxRunning.set({ queue: c.queue }, c.maxRunning);
        if (c.maxPerSecond !== null) m.queueMaxPerSecond.set({ queue: c.queue }, c.maxPerSecond);
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'reading queue controls failed');
    }
  }
}

export function summarize(stats: QueueStats[]) {
  const sum = (key: (typeof STATUSES)[number]) => stats.reduce((n, s) => n + s[key], 0);
  const completed = sum('completed');
  const failed = sum('failed');
  const ages = stats.map((s) => s.oldestPendingAgeSeconds).filter((a): a is number => a !== null);
  return {
    pending: sum('pending'),
    scheduled: sum('scheduled'),
    waiting: sum('waiting'),
    processing: sum('processing'),
    completed,
    failed,
    cancelled: sum('cancelled'),
    oldestPendingAgeSeconds: ages.length ? Math.max(...ages) : null,
    successRate: completed + failed === 0 ? null : completed / (completed + failed),
  };
}
