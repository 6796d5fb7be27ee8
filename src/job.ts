/** A job as the queue functions return it (public.jobs), in camelCase. */
/** waiting: held until the jobs it depends on completed (enqueue_flow). */
export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'waiting';
/** The statuses a job ends in: what purge_jobs may delete. */
/** How much history the database keeps (set_job_history): every change, or no row for a job's routine enqueue, claim and completion. */
export type HistoryLevel = 'full' | 'lean';

export type FinishedStatus = 'completed' | 'failed' | 'cancelled';

export interface Job<Payload = unknown> {
  id: string;
  task: string;
  queue: string;
  payload: Payload;
  status: JobStatus;
  priority: number;
  runAt: Date;
  attempts: number;
  maxAttempts: number;
  lockedBy: string | null;
  leaseExpiresAt: Date | null;
  jobKey: string | null;
  groupKey: string | null;
  stage: string | null;
  /** Counts stage changes: the compare-and-set of ctx.transition. */
  version: number;
  progress: unknown;
  result: unknown;
  errorCode: string | null;
  lastError: string | null;
  userId: string | null;
  /** Jobs sharing it run at most their concurrency limit at once, fleet-wide. */
  concurrencyKey: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  updatedAt: Date;
  /** The producer's W3C trace context, stored at enqueue (null when the producer was not traced). */
  traceparent: string | null;
}

/** What a producer gives to enqueue a job; only task is required. */
export interface EnqueueInput {
  task: string;
  payload?: unknown;
  queue?: string;
  /** Higher runs first; -1000..1000, default 0. */
  priority?: number;
  /** Not before this time (default: now). */
  runAt?: Date | string;
  /** Attempts before the job fails for good (default 5). */
  maxAttempts?: number;
  /** While a job with this key is pending or processing, enqueueing it again returns that job's id. */
  jobKey?: string;
  /** Jobs that belong together (one upload, one import): listed, counted, retried and cancelled as one. */
  groupKey?: string;
  /** Owner, for RLS. */
  userId?: string;
  /** Retry backoff of this job (defaults 2 s doubling, capped at 3600 s). */
  backoffBaseSeconds?: number;
  backoffMaxSeconds?: number;
  /** Jobs sharing this key run at most concurrencyLimit at once, across every worker. */
  concurrencyKey?: string;
  /** With concurrencyKey: how many may run at once (default 1). */
  concurrencyLimit?: number;
  /**
   * The W3C traceparent to link the job's spans to. Default: the enqueue span's, when tracing is
   * on; give one to join a trace of your own (e.g. an incoming request's).
   */
  traceparent?: string;
}

/** One row of get_queue_stats(). */
export interface QueueStats {
  queue: string;
  pending: number;
  scheduled: number;
  /** Waiting for their dependencies (enqueueFlow, enqueueParent). */
  waiting: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  oldestPendingAgeSeconds: number | null;
  successRate: number | null;
}
