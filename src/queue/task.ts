import type { Logger } from '../logger.js';
import type { Job } from '../job.js';
import type { TaskHooks } from '../workflow/hooks.js';
import type { WorkflowContext } from '../workflow/job-workflow.js';
import type { RetryPolicy } from '../workflow/retry-policy.js';
import type { StageDeclaration } from '../workflow/stages.js';

/** What a handler gets besides its job (stages, steps, flows, transactions: see WorkflowContext). */
export interface JobContext extends WorkflowContext {
  /** A child logger carrying workerId, jobId, task, queue and attempt. */
  logger: Logger;
  /** Aborted on timeout, on forced shutdown, when the lease is lost or the job is cancelled. */
  signal: AbortSignal;
  /** 1 on the first run. */
  attempt: number;
  workerId: string;
  /** Records the job's stage and progress for its owner to follow live. */
  progress(stage: string | null, data?: unknown): Promise<void>;
}

export type TaskHandler<Payload = unknown, Result = unknown> = (job: Job<Payload>, ctx: JobContext) => Promise<Result> | Result;

/**
 * A payload check: a function returning the (possibly converted) payload or throwing, or any
 * Standard Schema object (zod, valibot, arktype…), used through its `~standard.validate`.
 */
export type PayloadSchema<Payload = unknown> = ((payload: unknown) => Payload) | StandardSchema<Payload>;

export interface StandardSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    /** The library that made it (required by the Standard Schema spec; not read here). */
    readonly vendor?: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
  };
}

type StandardResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly { readonly message: string; readonly path?: readonly unknown[] }[] };

export interface TaskDefinition<Payload = unknown, Result = unknown> {
  handler: TaskHandler<Payload, Result>;
  /** Checked before the handler runs; a failing payload fails the job with INVALID_PAYLOAD. */
  schema?: PayloadSchema<Payload>;
  /** Per-task timeout; default JOB_TIMEOUT_MS. */
  timeoutMs?: number;
  /** The code a timed-out attempt fails with (retried); default TIMEOUT. */
  timeoutCode?: string;
  /** Caps retries below the job's own max_attempts, whatever the failure (timeouts too). */
  maxAttempts?: number;
  /** Delay before each retry; default: the job's backoff (see RetryPolicy). */
  retry?: RetryPolicy;
  /** Declared stages: ctx.transition moves are checked against them in SQL. */
  stages?: StageDeclaration;
  /** Lifecycle hooks, each run as a job enqueued with the change (they survive a dead worker). */
  hooks?: TaskHooks<Payload>;
}

/** Identity helper that types a task module's default export. */
export function defineTask<Payload = unknown, Result = unknown>(task: TaskDefinition<Payload, Result>): TaskDefinition<Payload, Result> {
  return task;
}

/** Runs a payload through a task's schema; throws an Error describing every issue. */
export async function validatePayload<Payload>(schema: PayloadSchema<Payload>, payload: unknown): Promise<Payload> {
  if (typeof schema === 'function') return schema(payload);
  const result = await schema['~standard'].validate(payload);
  if (result.issues) {
    const issues = result.issues.map((issue) => (issue.path?.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message));
    throw new Error(issues.join('; '));
  }
  return result.value;
}

/** A task as a registry takes it: a definition of any payload type, or a bare handler. */
export type AnyTask = TaskDefinition<any, any> | TaskHandler<any, any>;
