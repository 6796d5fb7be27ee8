import type { Driver } from '../drivers/driver.js';
import { JOB_ERROR_CODES, JobError, PermanentJobError, RetryableJobError, type JobErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { retryDelayMs } from '../workflow/retry-policy.js';
import { HandlerContext } from './handler-context.js';
import type { JobAbort } from './job-abort.js';
import type { Job } from '../job.js';
import { validatePayload, type JobContext, type TaskDefinition } from './task.js';

/** Why a running job was aborted from outside its handler. */
export type AbortCause = 'shutdown' | 'lease-lost';

export type JobOutcome =
  /** stored: already committed with the handler's own writes (ctx.transaction). */
  | { kind: 'completed'; result: unknown; stored?: boolean }
  | { kind: 'failed'; code: string; message: string; retryable: boolean; error: unknown; publicMessage?: string | null; retryDelayMs?: number }
  /** Stopped from outside (shutdown, lost lease): nothing is recorded by the handler's side. */
  | { kind: 'aborted'; cause: AbortCause };

export interface RunJobOptions {
  job: Job;
  task: TaskDefinition | undefined;
  /** Aborted from outside (shutdown, a lost lease); runJob aborts it itself at the timeout. */
  abort: JobAbort;
  timeoutMs: number;
  /** The job's child logger, made on first use. */
  logger: () => Logger;
  workerId: string;
  progress: JobContext['progress'];
  /** For ctx.step and ctx.transition (absent: they throw). */
  driver?: Driver;
}

/**
 * Runs one job's handler to an outcome. Never throws: an unknown task, a bad payload, a timeout
 * and a handler's throw all become a failed outcome with a code. A handler that ignores its abort
 * signal is not waited for: its late result is dropped (and fenced out by the database anyway).
 */
export async function runJob(options: RunJobOptions): Promise<JobOutcome> {
  const { job, task, abort } = options;
  if (!task) return failure('UNKNOWN_TASK', `no handler for task "${job.task}"`);

  let payload: unknown;
  try {
    payload = task.schema ? await validatePayload(task.schema, job.payload) : job.payload;
  } catch (error) {
    return failure('INVALID_PAYLOAD', `invalid payload for task "${job.task}": ${messageOf(error)}`, error);
  }

  const timeoutMs = task.timeoutMs ?? options.timeoutMs;
  const timeout = () => new JobError(task.timeoutCode ?? 'TIMEOUT', `task "${job.task}" timed out after ${timeoutMs} ms`, { retryable: true });
  const timer = setTimeout(() => abort.abort(timeout()), timeoutMs);
  const ctx = new HandlerContext({ job, task, abort, logger: options.logger, workerId: options.workerId, progress: options.progress, driver: options.driver });
  const handler = task.stages?.success
    ? async (j: Job, c: JobContext) => {
        const value: unknown = await task.handler(j, c);
        await HandlerContext.finish(ctx);
        return value;
      }
    : task.handler;
  const settle = (ok: boolean, value: unknown): JobOutcome => (abort.aborted ? outcomeOfAbort(abort.reason) : ok ? serializable(value) : outcomeOfThrow(value));
  let returned: unknown;
  let outcome: JobOutcome | Promise<JobOutcome>;
  try {
    // Aborted before it started (a lost lease, a stop): the handler is not called.
    if (abort.aborted) throw abort.reason;
    returned = handler({ ...job, payload }, ctx);
    // A handler that returned a promise: settled by it or by an abort, whichever comes first (a
    // handler that ignores its signal is not waited for). One that returned a value is done.
    outcome = isThenable(returned)
      ? new Promise<JobOutcome>((resolve) => {
          abort.onAbort((reason) => resolve(outcomeOfAbort(reason)));
          (returned as PromiseLike<unknown>).then((value) => resolve(settle(true, value)), (error: unknown) => resolve(settle(false, error)));
        })
      : settle(true, returned);
  } catch (error) {
    outcome = settle(false, error);
  }
  try {
    const settled = withRetryDelay(capRetries(outcome instanceof Promise ? await outcome : outcome, job, task), task, job, options.logger);
    return settled.kind === 'completed' && HandlerContext.completedInTransaction(ctx) ? { ...settled, stored: true } : settled;
  } finally {
    clearTimeout(timer);
  }
}

/** A retryable failure gets its delay from the task's retry policy (or the error's Retry-After). */
function withRetryDelay(outcome: JobOutcome, task: TaskDefinition, job: Job, logger: () => Logger): JobOutcome {
  if (outcome.kind !== 'failed' || !outcome.retryable) return outcome;
  try {
    const delay = retryDelayMs(task.retry, job.attempts, outcome.error);
    return delay === undefined ? outcome : { ...outcome, retryDelayMs: delay };
  } catch (error) {
    // A policy that throws must not lose the failure: the job's own backoff applies.
    logger().warn({ err: error }, 'the task\'s retry policy failed; using the job\'s backoff');
    return outcome;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function outcomeOfThrow(error: unknown): JobOutcome {
  if (error instanceof PermanentJobError) {
    return { kind: 'failed', code: error.code, message: error.message, retryable: false, error, publicMessage: error.publicMessage };
  }
  if (error instanceof JobError) return { kind: 'failed', code: error.code, message: error.message, retryable: error.retryable, error };
  if (error instanceof RetryableJobError) return { kind: 'failed', code: error.code, message: error.message, retryable: true, error };
  return { kind: 'failed', code: 'HANDLER_ERROR', message: messageOf(error), retryable: true, error };
}

/** A task's maxAttempts caps retries whatever the failure (a throw, a JobError, a timeout). */
function capRetries(outcome: JobOutcome, job: Job, task: TaskDefinition): JobOutcome {
  if (outcome.kind !== 'failed' || !outcome.retryable || task.maxAttempts === undefined) return outcome;
  return job.attempts < task.maxAttempts ? outcome : { ...outcome, retryable: false };
}

/** The outcome of an abort, by its reason: a timeout fails the job; shutdown and a lost lease do not. */
function outcomeOfAbort(reason: unknown): JobOutcome {
  if (reason instanceof JobError) return { kind: 'failed', code: reason.code, message: reason.message, retryable: reason.retryable, error: reason };
  return { kind: 'aborted', cause: reason === 'lease-lost' ? 'lease-lost' : 'shutdown' };
}

function serializable(result: unknown): JobOutcome {
  if (result === undefined) return { kind: 'completed', result: null };
  try {
    JSON.stringify(result);
    return { kind: 'completed', result };
  } catch (error) {
    return failure('RESULT_NOT_SERIALIZABLE', `the handler's result cannot be stored as JSON: ${messageOf(error)}`, error);
  }
}

function failure(code: JobErrorCode, message: string, error?: unknown): JobOutcome {
  return { kind: 'failed', code, message, retryable: JOB_ERROR_CODES[code].retryable, error };
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
