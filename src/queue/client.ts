import { DEFAULTS } from '../config.js';
import type { Driver, OperatorFunction } from '../drivers/driver.js';
import { DatabaseError } from '../errors.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';
import { checkEnqueueInput } from './enqueue-input.js';
import type { EnqueueInput, FinishedStatus, HistoryLevel, Job, QueueStats } from '../job.js';
import { jobFromRow } from '../drivers/rows.js';
import {
  detailFromValue, eventFromRow, filterArguments, groupStatsFromRow, overviewFromRow, withControls,
  type EventCursor, type EventFollow, type GroupStats, type JobDetail, type JobEvent, type JobFilter, type JobPage, type PageRequest, type QueueOverview,
} from './lookups.js';
import { purgeInBatches } from './purge-batches.js';
import { retryTransient } from './transient-retry.js';
import { waitForJob, type WaitOptions } from './wait-for-job.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
import { ScheduleStore } from '../schedules/schedule-store.js';
import { QueueControls } from './queue-controls.js';
import { enqueueFlow, enqueueParent, type FlowJobInput } from '../workflow/flows.js';

/**
 * The one way in to the queue for producers and operators (library, CLI, admin API): enqueue
 * (with the payload limit checked before the database is reached), look-ups, statistics and job
 * control, over any driver. The rules themselves live in the SQL functions it calls.
 */
export class QueueClient {
  readonly #driver: Driver;
  readonly #maxPayloadBytes: number;
  readonly #close: () => Promise<void>;
  /** Recurring jobs: schedule, unschedule, enable/disable, list. */
  readonly schedules: ScheduleStore;
  /** Pause, resume and limit queues, fleet-wide. */
  readonly queueControls: QueueControls;
  readonly #tracing: Tracing;

  constructor(driver: Driver, options: { maxPayloadBytes?: number; close?: () => Promise<void>; tracing?: Tracing } = {}) {
    this.#driver = driver;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes;
    this.#close = options.close ?? (() => driver.stop());
    this.schedules = new ScheduleStore(driver);
    this.queueControls = new QueueControls(driver);
    this.#tracing = options.tracing ?? NO_TRACING;
  }

  /** Throws the error enqueue would (SQLSTATE 22023) without enqueueing: for a caller that reports where the input came from. */
  check(job: EnqueueInput, index?: number): void {
    checkEnqueueInput(job, this.#maxPayloadBytes, index);
  }

  enqueue(job: EnqueueInput): Promise<string> {
    checkEnqueueInput(job, this.#maxPayloadBytes);
    if (!this.#tracing.enabled) return retryTransient(() => this.#driver.enqueue(job));
    return this.#tracing.enqueue({ tasks: [job.task], queues: [job.queue ?? 'default'], traceparent: job.traceparent }, (traceparent) =>
      retryTransient(() => this.#driver.enqueue({ ...job, traceparent })),
    );
  }

  /** One id per job, in order; one round trip. */
  enqueueMany(jobs: EnqueueInput[]): Promise<string[]> {
    jobs.forEach((job, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    if (!this.#tracing.enabled) return retryTransient(() => this.#driver.enqueueMany(jobs));
    return this.#tracing.enqueue({ tasks: jobs.map((j) => j.task), queues: jobs.map((j) => j.queue ?? 'default') }, (traceparent) =>
      retryTransient(() => this.#driver.enqueueMany(jobs.map((job) => (job.traceparent ? job : { ...job, traceparent })))),
    );
  }

  /** Jobs that may depend on each other, in one transaction: see docs/workflows.md. */
  enqueueFlow(jobs: FlowJobInput[]): Promise<string[]> {
    // ref and dependsOn are the flow's own keys; the rest is checked as any job's.
    jobs.forEach(({ ref: _ref, dependsOn: _dependsOn, ...job }, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    return retryTransient(() => enqueueFlow(this.#driver, jobs));
  }

  /** A parent that runs once every child completed; it reads their results with ctx.dependencyResults(). */
  enqueueParent(parent: EnqueueInput, children: EnqueueInput[]): Promise<{ parent: string; children: string[] }> {
    [parent, ...children].forEach((job, i) => checkEnqueueInput(job, this.#maxPayloadBytes, i));
    return retryTransient(() => enqueueParent(this.#driver, parent, children));
  }

  /** The job and its history (oldest event first), or null when there is no such job. */
  async getJob(id: string): Promise<JobDetail | null> {
    if (!UUID.test(id)) return null;
    return detailFromValue(await this.#operate('get_job', { id }));
  }

  /** Jobs matching the filter, newest first, one page at a time (keyset: stable while jobs are added). */
  async listJobs(filter: JobFilter = {}, page: PageRequest = {}): Promise<JobPage> {
    const limit = page.limit ?? 50;
    const rows = await this.#operate<{ cursor: string; job: Record<string, unknown> }[]>('list_jobs', {
      ...filterArguments(filter),
      ...(page.after === undefined ? {} : { after_cursor: page.after }),
      page_size: limit,
    });
    const jobs = rows.map((row) => jobFromRow(row.job));
    return { jobs, nextCursor: rows.length === limit ? (rows[rows.length - 1]?.cursor ?? null) : null };
  }

  /** Resolves with the job once it is completed, failed or cancelled; rejects with WAIT_TIMEOUT. */
  waitForJob(id: string, options: WaitOptions = {}): Promise<Job> {
    if (!UUID.test(id)) return Promise.reject(invalid(`"${id}" is not a job id`));
    const look = async (jobId: string) => (await this.getJob(jobId))?.job ?? null;
    return waitForJob(id, look, (nudge) => this.#driver.watchJob(id, nudge), options);
  }

  stats(): Promise<QueueStats[]> {
    return retryTransient(() => this.#driver.stats());
  }

  /** Per queue: live counts, the oldest ready job's age, the last hour's throughput and success rate, and its controls. */
  async overview(): Promise<QueueOverview[]> {
    const [rows, controls] = await Promise.all([
      this.#operate<Record<string, unknown>[]>('get_queue_overview', {}),
      retryTransient(() => this.queueControls.list()),
    ]);
    return withControls(rows.map(overviewFromRow), controls);
  }

  async groupStats(group: string): Promise<GroupStats> {
    const [row] = await this.#operate<Record<string, unknown>[]>('get_group_stats', { group_key: group });
    return groupStatsFromRow(row ?? { group_key: group });
  }

  /** Recent history: the newest events (newest first), or with afterId those after it (oldest first). */
  async events(options: { afterId?: number; limit?: number } = {}): Promise<JobEvent[]> {
    const rows = await this.#operate<Record<string, unknown>[]>('list_job_events', {
      after_id: options.afterId ?? null,
      max_rows: options.limit ?? 50,
    });
    return rows.map(eventFromRow);
  }

  /**
   * Follows history without missing an event that commits late (follow_job_events): pass null to
   * start from now, then the cursor each answer gives; `more` says to ask again at once.
   */
  async followEvents(cursor: EventCursor | null, limit = 500): Promise<EventFollow> {
    const value = await this.#operate<{ events: Record<string, unknown>[]; cursor: EventCursor; more: boolean }>(
      'follow_job_events', { cursor, max_rows: limit });
    return { events: value.events.map(eventFromRow), cursor: value.cursor, more: value.more };
  }

  retry(id: string): Promise<boolean> {
    if (!UUID.test(id)) return Promise.resolve(false);
    return retryTransient(() => this.#driver.retry(id));
  }

  /** Runs again every failed job matching the filter (status 'cancelled' for cancelled ones); returns how many. */
  retryJobs(filter: JobFilter = {}): Promise<number> {
    return this.#operate<number>('retry_jobs', { ...filterArguments(filter), status: filter.status ?? 'failed' });
  }

  retryFailed(queue?: string): Promise<number> {
    return retryTransient(() => this.#driver.retryFailed(queue));
  }

  cancel(id: string): Promise<boolean> {
    if (!UUID.test(id)) return Promise.resolve(false);
    return retryTransient(() => this.#driver.cancel(id));
  }

  /** Cancels every pending job matching the filter (status 'processing' for running ones); returns how many. */
  cancelJobs(filter: JobFilter = {}): Promise<number> {
    return this.#operate<number>('cancel_jobs', { ...filterArguments(filter), status: filter.status ?? 'pending' });
  }

  /**
   * Deletes finished jobs (default completed and cancelled) last changed more than
   * olderThanSeconds ago, with their history, in short batches with a pause between them
   * (RETENTION_BATCH_SIZE and RETENTION_BATCH_PAUSE_MS by default); returns how many. Waits its
   * turn while another batched purge runs.
   */
  async purge(
    olderThanSeconds: number,
    statuses: FinishedStatus[] = ['completed', 'cancelled'],
    options: { batchSize?: number; pauseMs?: number } = {},
  ): Promise<number> {
    const { purged } = await purgeInBatches(this.#driver, {
      olderThanSeconds,
      statuses,
      batchSize: options.batchSize ?? DEFAULTS.retentionBatchSize,
      pauseMs: options.pauseMs ?? DEFAULTS.retentionBatchPauseMs,
      whenBusy: 'wait',
    });
    return purged;
  }

  /** The database's history level, one setting for every writer (docs/operations.md#history-level). */
  historyLevel(): Promise<HistoryLevel> {
    return retryTransient(() => this.#driver.call<HistoryLevel>('job_history_level', {}));
  }

  /** Sets the history level for every writer from their next statement on. */
  setHistoryLevel(level: HistoryLevel): Promise<HistoryLevel> {
    if (level !== 'full' && level !== 'lean') return Promise.reject(invalid('level must be full or lean'));
    return retryTransient(() => this.#driver.call<HistoryLevel>('set_job_history', { level }));
  }

  close(): Promise<void> {
    return this.#close();
  }

  /** Operator functions, tried again on transient failures like every one-off call here. */
  #operate<T>(fn: OperatorFunction, args: Record<string, unknown>): Promise<T> {
    return retryTransient(() => this.#driver.operate<T>(fn, args));
  }
}

function invalid(message: string): DatabaseError {
  return new DatabaseError(message, { sqlState: '22023', transient: false });
}
