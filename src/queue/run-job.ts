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
 * A handler that returns a value (not a promise) gives its outcome at once, with no promise made:
 * short jobs are the ones whose every allocation shows.
 */
export function runJob(options: RunJobOptions): JobOutcome | Promise<JobOutcome> {
  const { job, task } = options;
  if (!task) return failure('UNKNOWN_TASK', `no handler for task "${job.task}"`);
  return task.schema ? validateAndRun(options, task, task.schema) : runHandler(options, task, job.payload);
}

async function validateAndRun(options: RunJobOptions, task: TaskDefinition, schema: NonNullable<TaskDefinition['schema']>): Promise<JobOutcome> {
  let payload: unknown;
  try {
    payload = await validatePayload(schema, options.job.payload);
  } catch (error) {
    return failure('INVALID_PAYLOAD', `invalid payload for task "${options.job.task}": ${messageOf(error)}`, error);
  }
  return runHandler(options, task, payload);
}

function runHandler(options: RunJobOptions, task: TaskDefinition, payload: unknown): JobOutcome | Promise<JobOutcome> {
  const { job, abort } = options;
  const timeoutMs = task.timeoutMs ?? options.timeoutMs;
  const timer = setTimeout(abortOnTimeout, timeoutMs, abort, task, job.task, timeoutMs);
  const ctx = new HandlerContext({ job, task, abort, logger: options.logger, workerId: options.workerId, progress: options.progress, driver: options.driver });
  const handler = task.stages?.success
    ? async (j: Job, c: JobContext) => {
        const value: unknown = await task.handler(j, c);
        await HandlerContext.finish(ctx);
        return value;
      }
    : task.handler;
  let returned: unknown;
  try {
    // Aborted before it started (a lost lease, a stop): the handler is not called.
    if (abort.aborted) throw abort.reason;
    returned = handler({ ...job, payload }, ctx);
  } catch (error) {
    return settled(options, task, ctx, timer, settle(abort, false, error));
  }
  if (!isThenable(returned)) return settled(options, task, ctx, timer, settle(abort, true, returned));
  // Settled by the handler's promise or by an abort, whichever comes first (a handler that
  // ignores its signal is not waited for).
  return new Promise<JobOutcome>((resolve) => {
    abort.onAbort((reason) => resolve(outcomeOfAbort(reason)));
    returned.then(
      (value) => resolve(settle(abort, true, value)),
      (error: unknown) => resolve(settle(abort, false, error)),
    );
  }).then((outcome) => settled(options, task, ctx, timer, outcome));
}

function abortOnTimeout(abort: JobAbort, task: TaskDefinition, name: string, timeoutMs: number): void {
  abort.abort(new JobError(task.timeoutCode ?? 'TIMEOUT', `task "${name}" timed out after ${timeoutMs} ms`, { retryable: true }));
}

/** The handler's result or throw as an outcome; once aborted (a timeout, a lost lease), the abort's. */
function settle(abort: JobAbort, ok: boolean, value: unknown): JobOutcome {
  return abort.aborted ? outcomeOfAbort(abort.reason) : ok ? serializable(value) : outcomeOfThrow(value);
}

/** The outcome with the task's retry cap and delay; the timeout timer is done with. */
function settled(options: RunJobOptions, task: TaskDefinition, ctx: HandlerContext, timer: NodeJS.Timeout, outcome: JobOutcome): JobOutcome {
  clearTimeout(timer);
  const final = withRetryDelay(capRetries(outcome, options.job, task), task, options.job, options.logger);
  return final.kind === 'completed' && HandlerContext.completedInTransaction(ctx) ? { ...final, stored: true } : final;
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
