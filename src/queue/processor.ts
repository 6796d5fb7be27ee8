import { DEFAULTS, type Config } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';
import { ClaimTriggers } from './claim-triggers.js';
import { HeldBackPoll } from './held-back-poll.js';
import { JobAbort } from './job-abort.js';
import { LeaseKeeper } from './lease-keeper.js';
import { countClaimed, countOutcome } from './outcome-metrics.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { Prefetch } from './prefetch.js';
import { runClaimedJob, type ClaimedJobRun } from './run-claimed-job.js';
import { RunningJobs } from './running-jobs.js';
import type { TaskRegistry } from './task-registry.js';
import { retryTransient } from './transient-retry.js';

/** The slice of Config the processor reads. */
export type ProcessorConfig = Pick<Config, 'workerId' | 'queues' | 'maxConcurrentJobs' | 'pollIntervalMs' | 'leaseSeconds' | 'jobTimeoutMs'> &
  Partial<Pick<Config, 'flowControlPollMs'>>;

export interface ProcessorOptions extends ProcessorConfig {
  driver: Driver;
  tasks: TaskRegistry;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Spans of claims and runs; default off. */
  tracing?: Tracing;
}

/**
 * Claims jobs and runs their handlers, at most maxConcurrentJobs at a time. Claims are triggered
 * by ClaimTriggers and by freed slots while more work may be waiting; each claim asks for exactly
 * the free slots (plus a prefetch while jobs are short). The LeaseKeeper renews the leases of
 * held jobs; a lost lease aborts the handler. The OutcomeRecorder stores outcomes.
 */
export class JobProcessor {
  readonly #options: ProcessorOptions;
  readonly #running: RunningJobs;
  /** Claimed (leased) but not started: filled ahead only while jobs are short. */
  #buffer: Job[] = [];
  readonly #prefetch = new Prefetch();
  readonly #leases: LeaseKeeper;
  readonly #recorder: OutcomeRecorder;
  readonly #run: ClaimedJobRun;
  readonly #triggers: ClaimTriggers;
  /** Public so that the worker can say when queue controls apply (setControlled). */
  readonly heldBack: HeldBackPoll;
  readonly #tracing: Tracing;
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  /** A claim filled every slot, or a hint came while full: claim again when a slot frees. */
  #moreMayBeReady = false;
  /**
   * What the next claim is for: as many jobs as there is room for (a poll, a broadcast wake-up,
   * a full claim, a retry), or only one job per wake-up that chose this worker alone. A worker
   * told of one job must not take the jobs other workers were told of: their claims would come
   * back empty, and the jobs would wait in its buffer while they sit idle.
   */
  #openEnded = true;
  #toldOfJobs = 0;
  #active = false;

  constructor(options: ProcessorOptions) {
    this.#options = options;
    this.#tracing = options.tracing ?? NO_TRACING;
    const { driver, workerId, leaseSeconds, logger, metrics } = options;
    const count = countOutcome(metrics, logger);
    this.#running = new RunningJobs({ driver, workerId, logger, metrics });
    this.#leases = new LeaseKeeper({ driver, workerId, leaseSeconds, logger, onLost: (ids) => this.#onLeasesLost(ids) });
    this.#recorder = new OutcomeRecorder({ driver, workerId, logger, leases: this.#leases, onRecorded: (job, outcome) => (count(job, outcome), this.#tracing.recorded(job, outcome)) });
    this.#run = { driver, workerId, tasks: options.tasks, jobTimeoutMs: options.jobTimeoutMs, metrics, prefetch: this.#prefetch, recorder: this.#recorder };
    this.#triggers = new ClaimTriggers({
      driver,
      logger,
      queues: options.queues,
      pollIntervalMs: options.pollIntervalMs,
      onTrigger: (forOneJob) => this.#requestClaim(true, forOneJob),
      canClaim: () => this.#active && this.#running.size + this.#buffer.length < options.maxConcurrentJobs,
    });
    this.heldBack = new HeldBackPoll(options.flowControlPollMs ?? DEFAULTS.flowControlPollMs, () => this.wake());
  }

  /** Whether it is claiming work (started and not stopping). */
  get active(): boolean {
    return this.#active;
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#triggers.start();
    this.#leases.start();
    this.wake();
  }

  /** Work may be ready (a hint, a reclaim): claim as soon as slots allow. */
  wake(): void {
    this.#requestClaim(true);
  }

  /**
   * Stops claiming, lets running handlers finish for up to drainTimeoutMs, then aborts the rest
   * and gives their jobs back (release_jobs, the attempt not counted), and stores every outcome.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.#stopClaiming();
    await this.#claiming;
    await this.#giveBack(this.#buffer.splice(0), 'worker stopping before the job started');
    await this.#running.drain(drainTimeoutMs);
    await this.#releaseRunningAndSettle();
  }

  /** Forced stop: aborts every handler now and releases its job. */
  async abortAll(): Promise<void> {
    this.#stopClaiming();
    await this.#giveBack(this.#buffer.splice(0), 'worker stopping before the job started');
    await this.#releaseRunningAndSettle();
  }

  #stopClaiming(): void {
    this.#active = false;
    this.#triggers.stop();
    this.heldBack.stop();
  }

  async #releaseRunningAndSettle(): Promise<void> {
    await this.#running.releaseAll();
    this.#leases.stop();
    await this.#recorder.stop();
  }

  #requestClaim(workMayBeReady: boolean, forOneJob = false): void {
    if (workMayBeReady) {
      this.#moreMayBeReady = true;
      if (forOneJob) this.#toldOfJobs++;
      else this.#openEnded = true;
    }
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
    const { driver, workerId, queues, leaseSeconds, maxConcurrentJobs, metrics } = this.#options;
    do {
      this.#claimAgain = false;
      const room = Math.min(1000, maxConcurrentJobs - this.#running.size + this.#prefetch.size(maxConcurrentJobs) - this.#buffer.length);
      if (room <= 0 || !this.#active) return;
      const openEnded = this.#openEnded;
      const want = openEnded ? room : Math.min(room, Math.max(1, this.#toldOfJobs));
      this.#moreMayBeReady = false;
      this.#openEnded = false;
      this.#toldOfJobs = 0;
      let jobs: Job[];
      const claimStartedAt = Date.now();
      try {
        metrics.claims.inc();
        jobs = await driver.claim({ workerId, queues, batchSize: want, leaseSeconds });
        this.#triggers.claimSucceeded();
      } catch (error) {
        this.#moreMayBeReady = true;
        this.#openEnded = true;
        this.#triggers.claimFailed(error as Error);
        return;
      }
      if (!this.#active) return this.#giveBack(jobs, 'worker stopping'); // stopped while the claim was in flight
      if (jobs.length === 0) metrics.claimsEmpty.inc();
      this.heldBack.afterClaim(jobs, want);
      for (const job of jobs) this.#leases.claimed(job.id);
      countClaimed(metrics, jobs);
      if (this.#tracing.enabled && jobs.length > 0) this.#tracing.claimed(jobs, claimStartedAt, workerId);
      // Before the jobs start: a handler that returns a value finishes within #startBuffered, and
      // its freed slot must see that more may be waiting.
      if (jobs.length === want && openEnded) this.#moreMayBeReady = this.#openEnded = true;
      this.#buffer.push(...jobs);
      this.#startBuffered();
    } while (this.#claimAgain && this.#moreMayBeReady);
  }

  /** Starts buffered jobs while slots are free. */
  #startBuffered(): void {
    let finishedAtOnce = false;
    while (this.#buffer.length > 0 && this.#running.size < this.#options.maxConcurrentJobs) {
      const job = this.#buffer.shift() as Job;
      const entry = this.#running.add(job, this.#tracing.startRun(job, this.#options.workerId));
      const running = runClaimedJob(this.#run, entry);
      if (running) {
        void running.then(() => {
          this.#finished(job);
          this.#startBuffered();
          this.#claimIfLow();
        });
      } else {
        // The handler returned a value: its slot is free again within this loop.
        this.#finished(job);
        finishedAtOnce = true;
      }
    }
    if (finishedAtOnce) this.#claimIfLow();
  }

  #finished(job: Job): void {
    this.#running.delete(job.id, this.#buffer.length === 0);
    this.#leases.finished(job.id);
  }

  /** A finished job: claim ahead when the buffer runs low. */
  #claimIfLow(): void {
    // Under queue controls or concurrency keys, a finished job may free a slot held back.
    if (this.#buffer.length <= this.#prefetch.size(this.#options.maxConcurrentJobs) / 2) this.#requestClaim(this.heldBack.active);
  }

  #onLeasesLost(lost: ReadonlySet<string>): void {
    this.#buffer = this.#buffer.filter((job) => !lost.has(job.id));
    for (const id of lost) {
      if (!this.#running.abortLost(id)) this.#leases.finished(id);
    }
  }

  /** Releases claimed jobs that never started; on failure they return when their leases expire. */
  async #giveBack(jobs: Job[], reason: string): Promise<void> {
    if (jobs.length === 0) return;
    for (const job of jobs) this.#leases.finished(job.id);
    const { driver, workerId, logger } = this.#options;
    await retryTransient(() => driver.release(workerId, jobs.map((j) => j.id), reason)).catch((error: unknown) =>
      logger.warn({ err: error, jobs: jobs.length }, 'releasing claimed jobs failed; they return when their leases expire'),
    );
  }
}
