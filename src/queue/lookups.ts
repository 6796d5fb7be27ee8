import { countsFromRow, jobFromRow, maybeNumber } from '../drivers/rows.js';
import type { Job, JobStatus } from '../job.js';
import type { QueueControl } from './queue-controls.js';

/** Which jobs a listing, a bulk retry or a bulk cancel applies to; every field optional. */
export interface JobFilter {
  status?: JobStatus;
  queue?: string;
  task?: string;
  group?: string;
  /** Created at or after. */
  createdAfter?: Date | string;
  /** Created before. */
  createdBefore?: Date | string;
}

export interface PageRequest {
  /** The `nextCursor` of the previous page; absent for the first. */
  after?: string;
  /** 1–500, default 50. */
  limit?: number;
}

export interface JobPage {
  jobs: Job[];
  /** Pass as `after` for the next page; null when this page was the last. */
  nextCursor: string | null;
}

/** One row of job_events: a status or stage change. */
export interface JobEvent {
  id: number;
  jobId: string;
  queue: string;
  task: string;
  /** 'enqueued', the new status, or 'stage'. */
  event: string;
  fromStatus: string | null;
  toStatus: string;
  stage: string | null;
  attempt: number;
  workerId: string | null;
  actor: string;
  errorCode: string | null;
  message: string | null;
  createdAt: Date;
}

/** Where a follower of history stands (follow_job_events); opaque: pass back what was returned. */
export type EventCursor = { after: number; gaps: unknown[] };

export interface EventFollow {
  /** Events committed since the cursor: late ones (below ids already delivered) first. */
  events: JobEvent[];
  cursor: EventCursor;
  /** More are there already: ask again at once. */
  more: boolean;
}

export interface JobDetail {
  job: Job;
  /** Oldest first. */
  events: JobEvent[];
}

export interface GroupStats {
  group: string;
  total: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  firstCreatedAt: Date | null;
  lastCreatedAt: Date | null;
}

/** One row of get_queue_overview(): live counts and the last hour. */
export interface QueueOverview {
  queue: string;
  pending: number;
  scheduled: number;
  /** Waiting for their dependencies (enqueueFlow, enqueueParent). */
  waiting: number;
  processing: number;
  failed: number;
  oldestPendingAgeSeconds: number | null;
  completedLastHour: number;
  /** Dead letters (jobs that became failed) in the last hour. */
  failedLastHour: number;
  /** completed / (completed + failed) over the last hour; null when neither happened. */
  successRate: number | null;
  /** 60 numbers, oldest minute first. */
  completionsPerMinute: number[];
  /** The queue's controls (get_queue_controls): no claims while paused; null: no limit. */
  paused: boolean;
  maxRunning: number | null;
  maxPerSecond: number | null;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const maybeDate = (v: unknown): Date | null => (v == null ? null : v instanceof Date ? v : new Date(v as string));

/** The SQL functions' filter arguments (snake_case, absent ones left out). */
export function filterArguments(filter: JobFilter): Row {
  const time = (v: Date | string | undefined) => (v instanceof Date ? v.toISOString() : v);
  const args: Row = {
    status: filter.status,
    queue: filter.queue,
    task: filter.task,
    group_key: filter.group,
    created_after: time(filter.createdAfter),
    created_before: time(filter.createdBefore),
  };
  for (const key of Object.keys(args)) if (args[key] === undefined) delete args[key];
  return args;
}

export function eventFromRow(row: Row): JobEvent {
  return {
    id: num(row.id),
    jobId: row.job_id as string,
    queue: row.queue as string,
    task: row.task as string,
    event: row.event as string,
    fromStatus: (row.from_status as string | null) ?? null,
    toStatus: row.to_status as string,
    stage: (row.stage as string | null) ?? null,
    attempt: num(row.attempt),
    workerId: (row.worker_id as string | null) ?? null,
    actor: row.actor as string,
    errorCode: (row.error_code as string | null) ?? null,
    message: (row.message as string | null) ?? null,
    createdAt: maybeDate(row.created_at) as Date,
  };
}

export function detailFromValue(value: { job: Row; events: Row[] } | null): JobDetail | null {
  if (!value) return null;
  return { job: jobFromRow(value.job), events: value.events.map(eventFromRow) };
}

export function groupStatsFromRow(row: Row): GroupStats {
  return {
    group: row.group_key as string,
    ...countsFromRow(row, ['total', 'pending', 'processing', 'completed', 'failed', 'cancelled']),
    firstCreatedAt: maybeDate(row.first_created_at),
    lastCreatedAt: maybeDate(row.last_created_at),
  };
}

export function overviewFromRow(row: Row): QueueOverview {
  return {
    queue: row.queue as string,
    ...countsFromRow(row, ['pending', 'scheduled', 'waiting', 'processing', 'failed']),
    oldestPendingAgeSeconds: maybeNumber(row.oldest_pending_age_seconds),
    completedLastHour: num(row.completed_last_hour),
    failedLastHour: num(row.failed_last_hour),
    successRate: maybeNumber(row.success_rate),
    completionsPerMinute: ((row.completions_per_minute as unknown[]) ?? []).map(num),
    paused: false,
    maxRunning: null,
    maxPerSecond: null,
  };
}

/**
 * The overview with each queue's controls: a queue with controls but no jobs to show (paused
 * before its first job, say) gets a row of zeros, so that it can be seen and resumed.
 */
export function withControls(overview: QueueOverview[], controls: QueueControl[]): QueueOverview[] {
  const byQueue = new Map(overview.map((q) => [q.queue, q]));
  for (const c of controls) {
    const row = byQueue.get(c.queue) ?? {
      queue: c.queue, pending: 0, scheduled: 0, waiting: 0, processing: c.processing, failed: 0, oldestPendingAgeSeconds: null,
      completedLastHour: 0, failedLastHour: 0, successRate: null, completionsPerMinute: Array<number>(60).fill(0),
      paused: false, maxRunning: null, maxPerSecond: null,
    };
    byQueue.set(c.queue, { ...row, paused: c.paused, maxRunning: c.maxRunning, maxPerSecond: c.maxPerSecond });
  }
  return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}
