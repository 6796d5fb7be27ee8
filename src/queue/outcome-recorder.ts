import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver } from '../drivers/driver.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';
import { DatabaseError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Job } from '../job.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { JobOutcome } from './run-job.js';

export interface RecordedFailure {
  code: string;
  message: string;
  retryable: boolean;
  /** For the job's owner (jobs.public_error); null: none. */
  publicMessage?: string | null;
  /** Wait this long before the retry (default: the job's backoff in SQL). */
  retryDelayMs?: number;
}

export interface OutcomeRecorderOptions {
  driver: Driver;
  workerId: string;
  logger: Logger;
  /** Most completions in one complete_jobs call. */
  maxBatch?: number;
  /** Keeps the leases of jobs whose outcome is not stored yet, and orders completions after renewals. */
  leases: Pick<LeaseKeeper, 'unrecorded' | 'recorded' | 'storing'>;
  /** Called once an outcome is stored (or refused by fencing). */
  onRecorded?: (job: Job, outcome: RecordOutcome) => void;
}

export type RecordOutcome =
  | { kind: 'completed' }
  | { kind: 'retry-scheduled' | 'dead-lettered'; code: string }
  /** The database refused: this worker no longer held the job (reclaimed, cancelled). */
  | { kind: 'fenced-out' };

interface PendingCompletion {
  job: Job;
  result: unknown;
  /** complete()'s caller waiting for the store; none for record()'s. */
  resolve: (() => void) | undefined;
}

/**
 * Stores job outcomes. Completions that arrive together go in one complete_jobs call; failures go
 * one by one. A transient database error is retried with backoff until stop(): every call is
 * fenced by the lease, so a retry can never complete a job twice.
 */
export class OutcomeRecorder {
  readonly #options: OutcomeRecorderOptions & { maxBatch: number };
  readonly #completions: PendingCompletion[] = [];
  #flushing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: OutcomeRecorderOptions) {
    this.#options = { ...options, maxBatch: options.maxBatch ?? 500 };
  }

  /**
   * A handler's outcome: a completion is queued for the next batch (not waited for: the slot is
   * freed now, the lease renewed until it is stored), a failure is stored now, an abort (lost
   * lease, shutdown) leaves nothing to store. Only a failure returns a promise.
   */
  record(job: Job, outcome: JobOutcome, logger: () => Logger, durationMs: number): Promise<void> | undefined {
    switch (outcome.kind) {
      case 'completed':
        if (this.#options.logger.isLevelEnabled('debug')) logger().debug({ durationMs: Math.round(durationMs) }, 'job completed');
        // Committed with the handler's own writes (ctx.transaction): nothing left to store.
        if (outcome.stored) return void this.#options.onRecorded?.(job, { kind: 'completed' });
        this.#queueCompletion(job, outcome.result, undefined);
        return;
      case 'failed':
        logger().warn({ err: outcome.error, code: outcome.code, retryable: outcome.retryable }, 'job failed');
        return this.fail(job, outcome);
      case 'aborted':
        logger().warn({ cause: outcome.cause }, 'job aborted');
        return;
    }
  }

  /** Resolves once stored (or given up on at stop()). */
  complete(job: Job, result: unknown): Promise<void> {
    return new Promise((resolve) => this.#queueCompletion(job, result, resolve));
  }

  #queueCompletion(job: Job, result: unknown, resolve: (() => void) | undefined): void {
    this.#options.leases.unrecorded(job.id);
    this.#completions.push({ job, result, resolve });
    // Completions of the same tick share one round trip.
    this.#flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#flush());
  }

  async fail(job: Job, failure: RecordedFailure): Promise<void> {
    this.#options.leases.unrecorded(job.id);
    try {
      const status = await this.#withRetry('fail_job', () =>
        this.#options.driver.fail(this.#options.workerId, {
          id: job.id,
          attempt: job.attempts,
          errorCode: failure.code,
          message: failure.message,
          retryable: failure.retryable,
          publicMessage: failure.publicMessage ?? null,
          retryDelayMs: failure.retryDelayMs,
        }),
      );
      if (status === undefined) return;
      this.#options.onRecorded?.(
        job,
        status === null ? { kind: 'fenced-out' } : { kind: status === 'pending' ? 'retry-scheduled' : 'dead-lettered', code: failure.code },
      );
    } finally {
      this.#options.leases.recorded(job.id);
    }
  }

  /** Stores what is queued with one last try each: what still fails is left to lease expiry. */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#completions.length > 0) {
      const batch = this.#completions.splice(0, this.#options.maxBatch);
      const completions = batch.map((c) => ({ id: c.job.id, attempt: c.job.attempts, result: c.result }));
      const done = await this.#withRetry('complete_jobs', () =>
        this.#options.leases.storing(
          completions.map((c) => c.id),
          () => this.#options.driver.complete(this.#options.workerId, completions),
        ),
      );
      const completed = new Set(done ?? []);
      for (const item of batch) {
        this.#options.leases.recorded(item.job.id);
        if (done !== undefined) this.#options.onRecorded?.(item.job, completed.has(item.job.id) ? { kind: 'completed' } : { kind: 'fenced-out' });
        item.resolve?.();
      }
    }
    this.#flushing = undefined;
  }

  /** The call's result, or undefined when it was given up on (stopped, or a permanent error). */
  async #withRetry<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const transient = !(error instanceof DatabaseError) || error.transient;
        if (!transient || this.#stopped) {
          this.#options.logger.error({ err: error }, `${what} failed; the job will be reclaimed when its lease expires`);
          return undefined;
        }
        const delay = reconnectBackoffMs(attempt, 100, 5_000);
        this.#options.logger.warn({ err: error, retryInMs: Math.round(delay) }, `${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }
}
