import type { EnqueueInput, FinishedStatus, Job, QueueStats } from '../job.js';

/**
 * The transport seam. A driver calls the SQL functions of supabase/migrations and nothing else
 * (it holds no queue logic), and turns the database's notifications into wake-up hints.
 * Implemented by drivers/postgres (pg + LISTEN/NOTIFY) and drivers/supabase (supabase-js RPC +
 * Realtime); tests/integration/drivers runs one conformance suite over both.
 *
 * Errors: every method rejects with a DatabaseError (src/errors.ts) whose `code` is the SQLSTATE
 * (or a transport code) and whose `transient` says whether retrying may succeed.
 */
export interface Driver {
  readonly transport: 'postgres' | 'supabase';

  /** Connects and starts wake-ups. Rejects if the database cannot be reached. */
  start(): Promise<void>;
  /** Stops wake-ups and closes every connection. Idempotent. */
  stop(): Promise<void>;

  enqueue(job: EnqueueInput): Promise<string>;
  /** One id per input, in order (inputs sharing a live job key get the same id). */
  enqueueMany(jobs: EnqueueInput[]): Promise<string[]>;

  claim(request: ClaimRequest): Promise<Job[]>;
  /** Extends leases; returns the ids the worker still holds. */
  heartbeat(workerId: string, ids: string[], leaseSeconds: number): Promise<string[]>;
  /** Completes jobs the worker holds; returns the ids that were completed (the rest were fenced out). */
  complete(workerId: string, completions: Completion[]): Promise<string[]>;
  /** The job's new status ('pending' = retry scheduled, 'failed' = dead letter), or null if fenced out. */
  fail(workerId: string, failure: Failure): Promise<'pending' | 'failed' | null>;
  /** Gives jobs back without counting the attempt; returns the ids released. */
  release(workerId: string, ids: string[], reason: string): Promise<string[]>;
  /** Records a running job's stage and progress; false if the worker no longer holds that attempt. */
  progress(workerId: string, id: string, stage: string | null, progress: unknown, attempt?: number): Promise<boolean>;
  reclaimExpired(): Promise<number>;

  stats(): Promise<QueueStats[]>;
  retry(id: string): Promise<boolean>;
  retryFailed(queue?: string): Promise<number>;
  cancel(id: string): Promise<boolean>;
  /**
   * Deletes finished jobs last changed more than olderThanSeconds ago, with their history: all of
   * them, or with batchSize at most that many of the oldest (purge_jobs). Returns how many; null
   * only with batchSize, when another batched purge is running right now (try again later).
   */
  purge(olderThanSeconds: number, statuses?: FinishedStatus[], batchSize?: number): Promise<number | null>;

  /**
   * Calls a set-returning function of the contract with named arguments (schedules and queue
   * controls, src/schedules and src/queue/queue-controls.ts): its rows as objects. Timestamps may
   * arrive as Date or as ISO string, depending on the transport; JSON values arrive parsed.
   */
  callRows(fn: string, args: Record<string, unknown>): Promise<Record<string, unknown>[]>;

  /**
   * Calls another function of the contract by name with named arguments (a plain object, or an
   * array of objects, is jsonb; an array of scalars a SQL array) and returns its single (scalar or jsonb) result. For the calls off the hot path:
   * workflows (stages, steps), registration.
   */
  call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T>;

  /**
   * Runs fn in one database transaction (committed when fn resolves, rolled back when it
   * rejects). Only the postgres transport has it: PostgREST runs each call in a transaction of
   * its own.
   */
  transaction?<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T>;

  /**
   * Calls one of the operator functions (look-ups, listings, bulk control) with named arguments.
   * Returns what PostgREST would: the rows of a set-returning function, the value of a scalar one.
   */
  operate<T>(fn: OperatorFunction, args: Record<string, unknown>): Promise<T>;

  /** One round trip to the database (readiness). */
  ping(): Promise<void>;

  /** Registers a wake-up listener; returns its removal. */
  onWakeUp(listener: (hint: WakeUpHint) => void): () => void;
  /** Hands a targeted wake-up this worker cannot take on to every worker (postgres transport). */
  passWakeUp?(hint: WakeUpHint): void;
  /**
   * Follows one job until it completes, fails or is cancelled: onChange runs when it may have (a
   * notification: NOTIFY or Realtime), and whenever the watch (re)starts, since what was sent
   * before is not replayed. A hint, like wake-ups: the caller looks at the job itself.
   */
  watchJob(id: string, onChange: () => void): JobWatch;
  /** How wake-ups currently arrive, for /ready and logs. */
  readonly wakeUps: WakeUpState;
}

/** The connection a transaction runs on (a pg client: parameters $1, $2, …); rows are untyped, as pg returns them. */
export interface TransactionClient {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

export interface ClaimRequest {
  workerId: string;
  /** null: every queue. */
  queues: string[] | null;
  batchSize: number;
  leaseSeconds: number;
}

export interface Completion {
  id: string;
  attempt: number;
  result?: unknown;
}

export interface Failure {
  id: string;
  attempt: number;
  errorCode: string;
  message: string;
  retryable: boolean;
  /** What the job's owner may read of the failure (jobs.public_error). */
  publicMessage?: string | null;
  /** Wait this long before the retry (the task's retry policy, a Retry-After); default: the job's backoff. */
  retryDelayMs?: number;
}

/** fail_job's retry_delay_seconds for a failure (null: the job's own backoff). */
export function retryDelaySeconds(failure: Failure): number | null {
  return failure.retryDelayMs === undefined ? null : Math.min(31_536_000, Math.max(0, failure.retryDelayMs / 1000));
}

/**
 * A nudge that work may be ready. Hints can be lost or duplicated; polling is the guarantee.
 * queues null: any queue (also sent after every (re)subscription, since missed events are not
 * replayed). nextRunAt: the earliest future run_at among the new jobs, if any.
 */
export interface WakeUpHint {
  queues: string[] | null;
  count: number;
  nextRunAt: Date | null;
  /**
   * Sent to this worker alone (the database chose it among the listeners, to wake as many workers
   * as there are jobs): a worker that cannot claim now passes it on (Driver.passWakeUp).
   */
  targeted?: boolean;
}

/** A watch on one job (Driver.watchJob). */
export interface JobWatch {
  /** Whether the job's end will be notified now: the watch is in place and notifications arrive. */
  readonly live: boolean;
  stop(): void;
}

export interface WakeUpState {
  /** live: hints arrive; connecting: (re)connecting, polling meanwhile; poll-only: hints unavailable. */
  mode: 'live' | 'connecting' | 'poll-only';
  reason?: string;
}

/** The operator functions (supabase/migrations/*_operator_functions.sql) and what each returns. */
export const OPERATOR_FUNCTIONS = {
  list_jobs: 'rows',
  get_job: 'value',
  retry_jobs: 'value',
  cancel_jobs: 'value',
  get_group_stats: 'rows',
  get_queue_overview: 'rows',
  list_job_events: 'rows',
  follow_job_events: 'value',
} as const;

export type OperatorFunction = keyof typeof OPERATOR_FUNCTIONS;
