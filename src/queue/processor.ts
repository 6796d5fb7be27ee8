import type { Driver, WakeUpHint } from '../drivers/driver.js';
import { reconnectDelayMs } from '../drivers/wakeups.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { JobAbort } from './job-abort.js';
import type { Job } from './job.js';
import { OutcomeRecorder, type RecordOutcome } from './outcome-recorder.js';
import { runJob, type JobOutcome } from './run-job.js';
import type { TaskRegistry } from './task-registry.js';

export interface ProcessorOptions {
  driver: Driver;
  tasks: TaskRegistry;
  logger: Logger;
  metrics: WorkerMetrics;
  workerId: string;
  queues: string[] | null;
  maxConcurrentJobs: number;
  pollIntervalMs: number;
  leaseSeconds: number;
  jobTimeoutMs: number;
  reclaimIntervalMs: number;
}

interface RunningJob {
  job: Job;
  abort: JobAbort;
  startedAt: number;
}

/** Jobs faster than this on average make the processor claim ahead into a local buffer. */
const PREFETCH_BELOW_AVERAGE_MS = 50;
/** The buffer holds about this much work (at the current average job time). */
const BUFFER_TARGET_MS = 100;
const MAX_PREFETCH = 500;

/**
 * Claims jobs and runs their handlers, at most maxConcurrentJobs at a time. Claims are triggered
 * by wake-up hints, a poll timer (the guarantee), a timer for the next known run_at, and freed
 * slots while more work may be waiting; each claim asks for exactly the free slots. Leases of
 * running jobs are renewed by heartbeats; a lost lease aborts the handler.
 */
export class JobProcessor {
  readonly #o: ProcessorOptions;
  readonly #running = new Map<string, RunningJob>();
  /** Claimed (leased) but not started: filled ahead only while jobs are short. */
  #buffer: Job[] = [];
  /** Moving average of handler run time; prefetch starts once it shows short jobs. */
  #averageMs = Number.POSITIVE_INFINITY;
  readonly #recorder: OutcomeRecorder;
  readonly #timers = new Set<NodeJS.Timeout>();
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  /** A claim filled every slot, or a hint came while full: claim again when a slot frees. */
  #moreMayBeReady = false;
  #active = false;
  #claimFailures = 0;
  #claimRetry: NodeJS.Timeout | undefined;
  /** The heartbeat call under way: completions wait for it (see OutcomeRecorder.storing). */
  #heartbeating: Promise<unknown> | undefined;
  #nextRunAt: { at: number; timer: NodeJS.Timeout } | undefined;
  #removeWakeUpListener: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Set when the last claim or heartbeat failed; cleared by the next success. */
  lastDatabaseError: Error | undefined;

  constructor(options: ProcessorOptions) {
    this.#o = options;
    this.#recorder = new OutcomeRecorder({
      driver: options.driver,
      workerId: options.workerId,
      logger: options.logger,
      onRecorded: (job, outcome) => this.#onRecorded(job, outcome),
      heartbeat: () => this.#heartbeating,
    });
  }

  /** Whether it is claiming work (started and not stopping). */
  get active(): boolean {
    return this.#active;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  /**
   * How many jobs to hold claimed beyond the free slots: none while jobs are long (another worker
   * may be idle), and for short jobs about BUFFER_TARGET_MS of work, so that one claim feeds many.
   */
  #prefetch(): number {
    if (!(this.#averageMs < PREFETCH_BELOW_AVERAGE_MS)) return 0;
    const max = this.#o.maxConcurrentJobs;
    const jobsInTarget = (max * BUFFER_TARGET_MS) / Math.max(this.#averageMs, 0.1);
    return Math.round(Math.min(MAX_PREFETCH, Math.max(max, jobsInTarget)));
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#removeWakeUpListener = this.#o.driver.onWakeUp((hint) => this.#onWakeUp(hint));
    this.#every(this.#o.pollIntervalMs, () => this.#requestClaim(true));
    this.#every(this.#o.reclaimIntervalMs, () => void this.#reclaim());
    this.#every((this.#o.leaseSeconds * 1000) / 3, () => void this.#heartbeat());
    this.#requestClaim(true);
  }

  /**
   * Stops claiming, lets running handlers finish for up to drainTimeoutMs, then aborts the rest
   * and gives their jobs back (release_jobs, the attempt not counted), and stores every outcome.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.#active = false;
    this.#removeWakeUpListener?.();
    this.#clearNextRunAt();
    await this.#claiming;
    await this.#releaseBuffered();
    if (this.#running.size > 0) {
      this.#o.logger.info({ inFlight: this.#running.size, drainTimeoutMs }, 'draining running jobs');
      await Promise.race([this.#idle(), new Promise((resolve) => this.#timers.add(setTimeout(resolve, drainTimeoutMs)))]);
    }
    await this.#releaseRunning();
    for (const timer of this.#timers) clearTimeout(timer), clearInterval(timer);
    this.#timers.clear();
    clearTimeout(this.#claimRetry);
    await this.#recorder.stop();
  }

  /** Forced stop: aborts every handler now and releases its job. */
  async abortAll(): Promise<void> {
    this.#active = false;
    await this.#releaseBuffered();
    await this.#releaseRunning();
    await this.#recorder.stop();
  }

  #every(ms: number, run: () => void): void {
    // A little jitter so that workers started together do not call in step.
    const timer = setInterval(run, ms * (0.9 + Math.random() * 0.2));
    timer.unref();
    this.#timers.add(timer);
  }

  #onWakeUp(hint: WakeUpHint): void {
    const queues = this.#o.queues;
    if (queues && hint.queues && !hint.queues.some((q) => queues.includes(q))) return;
    if (hint.nextRunAt) this.#scheduleAt(hint.nextRunAt.getTime());
    if (hint.count > 0 || hint.queues === null) this.#requestClaim(true);
  }

  #scheduleAt(at: number): void {
    // A hint is untrusted input: a time new Date() could not read (NaN) must not replace the
    // timer already set (setTimeout would fire it at once and the real run_at would be lost).
    if (!Number.isFinite(at)) return;
    if (!this.#active || (this.#nextRunAt && this.#nextRunAt.at <= at)) return;
    this.#clearNextRunAt();
    const timer = setTimeout(() => {
      this.#nextRunAt = undefined;
      this.#requestClaim(true);
    }, Math.max(0, at - Date.now()) + 5);
    timer.unref();
    this.#nextRunAt = { at, timer };
  }

  #clearNextRunAt(): void {
    if (this.#nextRunAt) clearTimeout(this.#nextRunAt.timer);
    this.#nextRunAt = undefined;
  }

  #requestClaim(workMayBeReady: boolean): void {
    if (workMayBeReady) this.#moreMayBeReady = true;
    if (!this.#active || !this.#moreMayBeReady) return;
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    this.#claiming = this.#claimLoop().finally(() => {
      this.#claiming = undefined;
      // A request that came while the loop was finishing must not be lost.
      if (this.#claimAgain) this.#requestClaim(false);
    });
  }

  async #claimLoop(): Promise<void> {
    do {
      this.#claimAgain = false;
      const want = Math.min(1000, this.#o.maxConcurrentJobs - this.#running.size + this.#prefetch() - this.#buffer.length);
      if (want <= 0 || !this.#active) return;
      this.#moreMayBeReady = false;
      let jobs: Job[];
      try {
        this.#o.metrics.claims.inc();
        jobs = await this.#o.driver.claim({
          workerId: this.#o.workerId,
          queues: this.#o.queues,
          batchSize: want,
          leaseSeconds: this.#o.leaseSeconds,
        });
        if (this.#claimFailures > 0) this.#o.logger.info({ failures: this.#claimFailures }, 'claiming works again');
        this.#claimFailures = 0;
        this.lastDatabaseError = undefined;
      } catch (error) {
        this.#onClaimError(error as Error);
        return;
      }
      if (!this.#active) {
        // Stopped while the claim was in flight: give the jobs straight back.
        await this.#o.driver.release(this.#o.workerId, jobs.map((j) => j.id), 'worker stopping').catch(() => undefined);
        return;
      }
      this.#buffer.push(...jobs);
      this.#startBuffered();
      if (jobs.length === want) this.#moreMayBeReady = true;
    } while (this.#claimAgain && this.#moreMayBeReady);
  }

  /** Starts buffered jobs while slots are free. */
  #startBuffered(): void {
    while (this.#buffer.length > 0 && this.#running.size < this.#o.maxConcurrentJobs) {
      this.#start(this.#buffer.shift() as Job);
    }
  }

  #onClaimError(error: Error): void {
    this.lastDatabaseError = error;
    this.#claimFailures++;
    this.#moreMayBeReady = true;
    // One retry timer at a time, sooner than the poll while the database is coming back.
    const delay = Math.min(this.#o.pollIntervalMs, reconnectDelayMs(this.#claimFailures, 200, 10_000));
    if (this.#claimFailures === 1 || this.#claimFailures % 20 === 0) {
      this.#o.logger.warn({ err: error, failures: this.#claimFailures, retryInMs: Math.round(delay) }, 'claiming jobs failed');
    }
    if (this.#claimRetry) return;
    this.#claimRetry = setTimeout(() => {
      this.#claimRetry = undefined;
      this.#requestClaim(true);
    }, delay);
    this.#claimRetry.unref();
  }

  #start(job: Job): void {
    const abort = new JobAbort();
    const entry: RunningJob = { job, abort, startedAt: performance.now() };
    this.#running.set(job.id, entry);
    this.#o.metrics.jobsInFlight.inc();
    // A child logger costs more than a short job: made only when something logs.
    let logger: Logger | undefined;
    const jobLogger = () => (logger ??= this.#o.logger.child({ jobId: job.id, task: job.task, queue: job.queue, attempt: job.attempts }));
    runJob({
      job,
      task: this.#o.tasks.get(job.task),
      abort,
      timeoutMs: this.#o.jobTimeoutMs,
      logger: jobLogger,
      workerId: this.#o.workerId,
      driver: this.#o.driver,
      progress: async (stage, data) => {
        const held = await this.#o.driver.progress(this.#o.workerId, job.id, stage, data ?? null);
        if (!held) abort.abort('lease-lost');
      },
    })
      .then((outcome) => this.#finish(entry, outcome, jobLogger))
      .catch((error: unknown) => jobLogger().error({ err: error }, 'recording the job outcome failed'))
      .finally(() => {
        this.#running.delete(job.id);
        this.#o.metrics.jobsInFlight.dec();
        if (this.#running.size === 0 && this.#buffer.length === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
        this.#startBuffered();
        if (this.#buffer.length <= this.#prefetch() / 2) this.#requestClaim(false);
      });
  }

  async #finish(entry: RunningJob, outcome: JobOutcome, logger: () => Logger): Promise<void> {
    const seconds = (performance.now() - entry.startedAt) / 1000;
    this.#o.metrics.jobDuration.observe({ task: entry.job.task, outcome: outcome.kind }, seconds);
    const ms = seconds * 1000;
    this.#averageMs = this.#averageMs === Number.POSITIVE_INFINITY ? ms : this.#averageMs * 0.9 + ms * 0.1;
    switch (outcome.kind) {
      case 'completed':
        if (this.#o.logger.isLevelEnabled('debug')) logger().debug({ durationMs: Math.round(ms) }, 'job completed');
        // Committed with the handler's own writes (ctx.transaction): nothing left to store.
        if (outcome.stored) return this.#onRecorded(entry.job, { kind: 'completed' });
        // The slot is freed now; the lease is renewed until the completion is stored.
        void this.#recorder.complete(entry.job, outcome.result);
        return;
      case 'failed':
        logger().warn({ err: outcome.error, code: outcome.code, retryable: outcome.retryable }, 'job failed');
        await this.#recorder.fail(entry.job, outcome);
        return;
      case 'aborted':
        logger().warn({ cause: outcome.cause }, 'job aborted');
        return;
    }
  }

  #onRecorded(job: Job, outcome: RecordOutcome): void {
    const m = this.#o.metrics;
    switch (outcome.kind) {
      case 'completed':
        return void m.jobsCompleted.inc({ task: job.task });
      case 'retry-scheduled':
        return void m.jobsRetried.inc({ task: job.task, code: outcome.code });
      case 'dead-lettered':
        return void m.jobsFailed.inc({ task: job.task, code: outcome.code });
      case 'fenced-out':
        m.jobsFencedOut.inc({ task: job.task });
        this.#o.logger.warn({ jobId: job.id, task: job.task }, 'outcome refused: this worker no longer held the job');
    }
  }

  async #heartbeat(): Promise<void> {
    const unrecorded = [...this.#recorder.unrecorded].filter((id) => !this.#recorder.storing.has(id));
    const ids = [...new Set([...this.#running.keys(), ...this.#buffer.map((j) => j.id), ...unrecorded])];
    if (ids.length === 0) return;
    const call = this.#o.driver.heartbeat(this.#o.workerId, ids, this.#o.leaseSeconds);
    const under = (this.#heartbeating = call.catch(() => undefined));
    try {
      const held = new Set(await call);
      this.lastDatabaseError = undefined;
      // Only jobs this heartbeat asked about: a claim may have added more while it was under way.
      const asked = new Set(ids);
      this.#buffer = this.#buffer.filter((job) => held.has(job.id) || !asked.has(job.id));
      for (const id of ids) {
        const entry = this.#running.get(id);
        if (!held.has(id) && entry && !entry.abort.aborted) {
          this.#o.logger.warn({ jobId: id, task: entry.job.task }, 'lease lost (reclaimed or cancelled); aborting the handler');
          entry.abort.abort('lease-lost');
        }
      }
    } catch (error) {
      this.lastDatabaseError = error as Error;
      this.#o.logger.warn({ err: error }, 'heartbeat failed');
    } finally {
      if (this.#heartbeating === under) this.#heartbeating = undefined;
    }
  }

  async #reclaim(): Promise<void> {
    try {
      const count = await this.#o.driver.reclaimExpired();
      if (count > 0) {
        this.#o.metrics.reclaimed.inc(count);
        this.#o.logger.info({ count }, 'reclaimed jobs whose lease expired');
        this.#requestClaim(true);
      }
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'reclaiming expired jobs failed');
    }
  }

  #idle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #releaseBuffered(): Promise<void> {
    const jobs = this.#buffer.splice(0);
    if (jobs.length === 0) return;
    await this.#o.driver
      .release(this.#o.workerId, jobs.map((j) => j.id), 'worker stopping before the job started')
      .catch((error: unknown) => this.#o.logger.warn({ err: error, jobs: jobs.length }, 'releasing buffered jobs failed; they return when their leases expire'));
  }

  async #releaseRunning(): Promise<void> {
    const entries = [...this.#running.values()];
    if (entries.length === 0) return;
    for (const entry of entries) entry.abort.abort('shutdown');
    const ids = entries.map((e) => e.job.id);
    try {
      const released = await this.#o.driver.release(this.#o.workerId, ids, 'worker shut down before the job finished');
      for (const entry of entries) if (released.includes(entry.job.id)) this.#o.metrics.jobsReleased.inc({ task: entry.job.task });
      this.#o.logger.info({ released: released.length }, 'released unfinished jobs');
    } catch (error) {
      this.#o.logger.error({ err: error, jobs: ids.length }, 'releasing unfinished jobs failed; they return when their leases expire');
    }
  }
}
