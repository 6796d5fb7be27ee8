import type { Driver } from '../drivers/driver.js';
import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { JobTrace } from '../tracing/tracing.js';
import { JobAbort } from './job-abort.js';
import { retryTransient } from './transient-retry.js';

export interface RunningJob {
  job: Job;
  abort: JobAbort;
  startedAt: number;
  /** The job's child logger, made on first use: it costs more than a short job. */
  logger: () => Logger;
  /** The job's run span (a constant no-op when tracing is off). */
  trace: JobTrace;
}

export interface RunningJobsOptions {
  driver: Pick<Driver, 'release'>;
  workerId: string;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'jobsInFlight' | 'jobsReleased' | 'taskLabel'>;
}

/** The jobs whose handlers are running: their aborts, the wait for them to drain, their release at stop. */
export class RunningJobs {
  readonly #options: RunningJobsOptions;
  readonly #jobs = new Map<string, RunningJob>();
  #idleWaiters: (() => void)[] = [];
  readonly #drainTimers = new Set<NodeJS.Timeout>();

  constructor(options: RunningJobsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#jobs.size;
  }

  add(job: Job, trace: JobTrace): RunningJob {
    let logger: Logger | undefined;
    const jobLogger = () =>
      (logger ??= this.#options.logger.child({ jobId: job.id, task: job.task, queue: job.queue, attempt: job.attempts, ...trace.logFields }));
    const entry: RunningJob = { job, abort: new JobAbort(), startedAt: performance.now(), logger: jobLogger, trace };
    this.#jobs.set(job.id, entry);
    this.#options.metrics.jobsInFlight.inc();
    return entry;
  }

  /** The handler is done; idle when none runs and nothing more is waiting to start. */
  delete(id: string, nothingWaiting: boolean): void {
    this.#jobs.delete(id);
    this.#options.metrics.jobsInFlight.dec();
    if (this.#jobs.size === 0 && nothingWaiting) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Aborts the handler of a job whose lease was lost; false when it is not running. */
  abortLost(id: string): boolean {
    const entry = this.#jobs.get(id);
    if (!entry) return false;
    if (!entry.abort.aborted) {
      this.#options.logger.warn({ jobId: id, task: entry.job.task }, 'lease lost (reclaimed or cancelled); aborting the handler');
      entry.abort.abort('lease-lost');
    }
    return true;
  }

  /** Waits for running handlers to finish, for up to timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#jobs.size === 0) return;
    this.#options.logger.info({ inFlight: this.#jobs.size, drainTimeoutMs: timeoutMs }, 'draining running jobs');
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await Promise.race([idle, new Promise((resolve) => this.#drainTimers.add(setTimeout(resolve, timeoutMs)))]);
    for (const timer of this.#drainTimers) clearTimeout(timer);
    this.#drainTimers.clear();
  }

  /** Aborts every running handler and gives its job back (release_jobs: the attempt is not counted). */
  async releaseAll(): Promise<void> {
    const entries = [...this.#jobs.values()];
    if (entries.length === 0) return;
    for (const entry of entries) entry.abort.abort('shutdown');
    const ids = entries.map((e) => e.job.id);
    const { driver, workerId, logger, metrics } = this.#options;
    try {
      const released = await retryTransient(() => driver.release(workerId, ids, 'worker shut down before the job finished'));
      for (const entry of entries) if (released.includes(entry.job.id)) metrics.jobsReleased.inc({ task: metrics.taskLabel(entry.job.task) });
      logger.info({ released: released.length }, 'released unfinished jobs');
    } catch (error) {
      logger.error({ err: error, jobs: ids.length }, 'releasing unfinished jobs failed; they return when their leases expire');
    }
  }
}
