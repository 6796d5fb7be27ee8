import type { EnqueueInput, Job, JobStatus, QueueStats } from '../job.js';

/**
 * The database's rows as the library's types, shared by both drivers: a public.jobs row (pg gives
 * Dates, PostgREST ISO strings), a claimed row, enqueue_jobs' JSON element, a get_queue_stats() row.
 */
type Row = Record<string, unknown>;

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
const maybeDate = (value: unknown): Date | null => (value == null ? null : date(value));

/** A public.jobs row from either transport (pg gives Dates, PostgREST ISO strings). */
export function jobFromRow(row: Row): Job {
  const updatedAt = date(row.updated_at);
  const lifecycle: Lifecycle = {
    status: row.status as JobStatus,
    lockedBy: (row.locked_by as string | null) ?? null,
    leaseExpiresAt: maybeDate(row.lease_expires_at),
    result: row.result ?? null,
    startedAt: maybeDate(row.started_at),
    completedAt: maybeDate(row.completed_at),
    failedAt: maybeDate(row.failed_at),
  };
  return buildJob(row, lifecycle, updatedAt);
}

/**
 * The columns a claim must read: the rest of a just-claimed row is known without reading it (see
 * claimedJobFromRow). Fewer columns, and three timestamps instead of six, to parse per job.
 */
export const CLAIMED_COLUMNS =
  'id, task, queue, payload, priority, run_at, attempts, max_attempts, job_key, group_key, stage, version, progress, error_code, last_error, user_id, concurrency_key, created_at, started_at, traceparent';

/**
 * A row claim_jobs just returned, read from CLAIMED_COLUMNS. What it leaves out holds for every
 * claimed job: status processing, locked by this worker, no result, not completed or failed
 * (only a pending job is claimed, and every way back to pending clears those), and started,
 * updated and leased by the claim's own now().
 */
export function claimedJobFromRow(row: Row, workerId: string, leaseSeconds: number): Job {
  const startedAt = date(row.started_at);
  const leaseExpiresAt = new Date(startedAt.getTime() + leaseSeconds * 1000);
  return buildJob(row, { status: 'processing', lockedBy: workerId, leaseExpiresAt, result: null, startedAt, completedAt: null, failedAt: null }, startedAt);
}

/** The columns of a job that a claim knows without reading them. */
type Lifecycle = Pick<Job, 'status' | 'lockedBy' | 'leaseExpiresAt' | 'result' | 'startedAt' | 'completedAt' | 'failedAt'>;

/**
 * A Job in one object literal: a claim turns hundreds of rows into jobs at a time, and a copy of
 * each row on the way (a spread) cost more than the rest of a no-op job's parsing.
 */
function buildJob(row: Row, l: Lifecycle, updatedAt: Date): Job {
  return {
    id: row.id as string,
    task: row.task as string,
    queue: row.queue as string,
    payload: row.payload,
    status: l.status,
    priority: row.priority as number,
    runAt: date(row.run_at),
    attempts: row.attempts as number,
    maxAttempts: row.max_attempts as number,
    lockedBy: l.lockedBy,
    leaseExpiresAt: l.leaseExpiresAt,
    jobKey: (row.job_key as string | null) ?? null,
    groupKey: (row.group_key as string | null) ?? null,
    stage: (row.stage as string | null) ?? null,
    version: (row.version as number | undefined) ?? 0,
    progress: row.progress ?? null,
    result: l.result,
    errorCode: (row.error_code as string | null) ?? null,
    lastError: (row.last_error as string | null) ?? null,
    userId: (row.user_id as string | null) ?? null,
    concurrencyKey: (row.concurrency_key as string | null) ?? null,
    createdAt: date(row.created_at),
    startedAt: l.startedAt,
    completedAt: l.completedAt,
    failedAt: l.failedAt,
    updatedAt,
    traceparent: (row.traceparent as string | null) ?? null,
  };
}

/** enqueue_jobs' JSON element for one input (snake_case keys, undefined left out). */
export function enqueueElement(input: EnqueueInput): Record<string, unknown> {
  const runAt = input.runAt instanceof Date ? input.runAt.toISOString() : input.runAt;
  return {
    task: input.task,
    payload: input.payload,
    queue: input.queue,
    priority: input.priority,
    run_at: runAt,
    max_attempts: input.maxAttempts,
    job_key: input.jobKey,
    group_key: input.groupKey,
    user_id: input.userId,
    backoff_base_seconds: input.backoffBaseSeconds,
    backoff_max_seconds: input.backoffMaxSeconds,
    concurrency_key: input.concurrencyKey,
    concurrency_limit: input.concurrencyLimit,
    traceparent: input.traceparent,
  };
}

/** The named count columns of a row, as numbers (pg returns bigint as strings). */
export function countsFromRow<K extends string>(row: Row, names: readonly K[]): Record<K, number> {
  return Object.fromEntries(names.map((name) => [name, Number(row[name])])) as Record<K, number>;
}

/** A number column that may be null. */
export function maybeNumber(value: unknown): number | null {
  return value == null ? null : Number(value);
}

/** A get_queue_stats() row. */
export function statsFromRow(row: Row): QueueStats {
  return {
    queue: row.queue as string,
    ...countsFromRow(row, ['pending', 'scheduled', 'waiting', 'processing', 'completed', 'failed', 'cancelled']),
    oldestPendingAgeSeconds: maybeNumber(row.oldest_pending_age_seconds),
    successRate: maybeNumber(row.success_rate),
  };
}
