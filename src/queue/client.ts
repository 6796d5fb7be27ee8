import { DEFAULTS } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';
import { checkEnqueueInput } from './enqueue-input.js';
import type { EnqueueInput, QueueStats } from '../job.js';
import { enqueueFlow, enqueueParent, type FlowJobInput } from '../workflow/flows.js';

/**
 * What a producer or an admin tool uses: enqueue (with the payload limit checked before the
 * database is reached), statistics and job control, over any driver.
 */
export class QueueClient {
  readonly #driver: Driver;
  readonly #maxPayloadBytes: number;
  readonly #close: () => Promise<void>;
  readonly #tracing: Tracing;

  constructor(driver: Driver, options: { maxPayloadBytes?: number; close?: () => Promise<void>; tracing?: Tracing } = {}) {
    this.#driver = driver;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes;
    this.#close = options.close ?? (() => driver.stop());
    this.#tracing = options.tracing ?? NO_TRACING;
  }

  /** Throws the error enqueue would (SQLSTATE 22023) without enqueueing: for a caller that reports where the input came from. */
  check(job: EnqueueInput, index?: number): void {
    checkEnqueueInput(job, this.#maxPayloadBytes, index);
  }

  enqueue(job: EnqueueInput): Promise<string> {
    checkEnqueueInput(job, this.#maxPayloadBytes);
    if (!this.#tracing.enabled) return this.#driver.enqueue(job);
    return this.#tracing.enqueue({ tasks: [job.task], queues: [job.queue ?? 'default'], traceparent: job.traceparent }, (traceparent) =>
      this.#driver.enqueue({ ...job, traceparent }),
    );
  }

  /** One id per job, in order; one round trip. */
  enqueueMany(jobs: EnqueueInput[]): Promise<string[]> {
    jobs.forEach((job, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    if (!this.#tracing.enabled) return this.#driver.enqueueMany(jobs);
    return this.#tracing.enqueue({ tasks: jobs.map((j) => j.task), queues: jobs.map((j) => j.queue ?? 'default') }, (traceparent) =>
      this.#driver.enqueueMany(jobs.map((job) => (job.traceparent ? job : { ...job, traceparent }))),
    );
  }

  /** Jobs that may depend on each other, in one transaction: see docs/workflows.md. */
  enqueueFlow(jobs: FlowJobInput[]): Promise<string[]> {
    jobs.forEach((job, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    return enqueueFlow(this.#driver, jobs);
  }

  /** A parent that runs once every child completed; it reads their results with ctx.dependencyResults(). */
  enqueueParent(parent: EnqueueInput, children: EnqueueInput[]): Promise<{ parent: string; children: string[] }> {
    [parent, ...children].forEach((job, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    return enqueueParent(this.#driver, parent, children);
  }

  stats(): Promise<QueueStats[]> {
    return this.#driver.stats();
  }

  retry(id: string): Promise<boolean> {
    return this.#driver.retry(id);
  }

  retryFailed(queue?: string): Promise<number> {
    return this.#driver.retryFailed(queue);
  }

  cancel(id: string): Promise<boolean> {
    return this.#driver.cancel(id);
  }

  purge(olderThanSeconds: number, statuses?: ('completed' | 'failed' | 'cancelled')[]): Promise<number> {
    return this.#driver.purge(olderThanSeconds, statuses);
  }

  close(): Promise<void> {
    return this.#close();
  }
}
