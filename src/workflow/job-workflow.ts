import type { Driver, TransactionClient } from '../drivers/driver.js';
import { DatabaseError, JobError } from '../errors.js';
import type { JobAbort } from '../queue/job-abort.js';
import type { Job } from '../job.js';
import type { DependencyResult } from './flows.js';
import type { StageDeclaration } from './stages.js';
import { NOT_HELD, workflowError } from './workflow-errors.js';

export interface StepOptions {
  /** The step fails with STEP_TIMEOUT after this long (its signal is aborted). */
  timeoutMs?: number;
}

/** What a running job's handler gets for stages and steps (part of JobContext). */
export interface WorkflowContext {
  /** The job's stage (its declared initial stage while it has none). */
  readonly stage: string | null;
  /** The job's version: how many stage changes it has had. */
  readonly version: number;
  /**
   * Moves the job to `to` (a compare-and-set on version, checked against the task's declared
   * stages in SQL); data replaces the job's progress. A move to the stage the job is already in
   * does nothing, so a retry resumes where the last attempt got to.
   */
  transition(to: string, data?: unknown): Promise<void>;
  /**
   * Runs fn once per job: its result is stored when it returns (fenced by this attempt), and any
   * later attempt gets the stored result without running fn again.
   */
  step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, options?: StepOptions): Promise<T>;
  /**
   * Runs fn in a database transaction that also completes the job (postgres transport): fn's
   * writes and the completion commit together, or not at all (a fenced-out attempt rolls back).
   * Its value is the job's result; call it last. On the supabase transport it fails the job with
   * TRANSACTION_UNAVAILABLE.
   */
  transaction<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T>;
  /** The jobs this one depends on (its children), in the order of its dependsOn, with their results. */
  dependencyResults<Result = unknown>(): Promise<DependencyResult<Result>[]>;
}

export interface JobWorkflowOptions {
  driver: Driver;
  job: Job;
  workerId: string;
  abort: JobAbort;
  stages: StageDeclaration | undefined;
}

/** The stages and steps of one running job. Everything it stores goes through SQL functions. */
export class JobWorkflow implements WorkflowContext {
  readonly #context: JobWorkflowOptions;
  #stage: string | null;
  #version: number;
  #steps: Promise<Record<string, unknown>> | undefined;

  constructor(options: JobWorkflowOptions) {
    this.#context = options;
    this.#stage = options.job.stage ?? options.stages?.initial ?? null;
    this.#version = options.job.version;
  }

  get stage(): string | null {
    return this.#stage;
  }

  get version(): number {
    return this.#version;
  }

  async transition(to: string, data?: unknown): Promise<void> {
    if (to === this.#stage) return;
    const { job, workerId } = this.#context;
    try {
      const moved = await this.#context.driver.call<{ stage: string; version: number }>('transition_job', {
        id: job.id,
        to_stage: to,
        expected_version: this.#version,
        worker_id: workerId,
        data: data === undefined ? null : data,
      });
      this.#stage = moved.stage;
      this.#version = moved.version;
    } catch (error) {
      throw this.#lostOr(error);
    }
  }

  /** Moves a job that completed to its declared success stage. */
  async finish(): Promise<void> {
    const success = this.#context.stages?.success;
    if (success) await this.transition(success);
  }

  async step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, options: StepOptions = {}): Promise<T> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new TypeError('a step name must be 1 to 200 characters');
    const stored = await this.#stored();
    if (Object.hasOwn(stored, name)) return stored[name] as T;
    const started = performance.now();
    const value = await this.#runStep(name, fn, options.timeoutMs);
    // What later attempts will read: the same JSON, so every attempt sees the same value.
    const result = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as T);
    const { job, workerId, driver } = this.#context;
    const saved = await driver.call<boolean>('save_job_step', {
      id: job.id,
      worker_id: workerId,
      attempt: job.attempts,
      name,
      result: result === null ? null : { value: result },
      duration_ms: Math.round(performance.now() - started),
    });
    if (!saved) throw this.#lost();
    stored[name] = result;
    return result as T;
  }

  /** Set once ctx.transaction committed the job's completion: nothing is left to record. */
  completedInTransaction = false;

  async transaction<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T> {
    const { driver, job, workerId } = this.#context;
    if (!driver.transaction) {
      throw new JobError('TRANSACTION_UNAVAILABLE', `ctx.transaction needs the postgres transport (this worker uses ${driver.transport})`);
    }
    const result = await driver.transaction(async (tx) => {
      const value = await fn(tx);
      const json = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as T);
      const { rows } = await tx.query('select public.complete_job($1, $2, $3::jsonb, $4) as ok', [job.id, workerId, JSON.stringify(json), job.attempts]);
      // Fenced out: every write of fn rolls back with this throw.
      if (rows[0]?.ok !== true) throw this.#lost();
      return json;
    });
    this.completedInTransaction = true;
    return result as T;
  }

  dependencyResults<Result = unknown>(): Promise<DependencyResult<Result>[]> {
    return this.#context.driver.call<DependencyResult<Result>[]>('get_dependency_results', { id: this.#context.job.id });
  }

  #stored(): Promise<Record<string, unknown>> {
    this.#steps ??= this.#context.driver.call<Record<string, { value: unknown } | null>>('get_job_steps', { id: this.#context.job.id }).then((rows) => {
      const steps: Record<string, unknown> = {};
      for (const [name, row] of Object.entries(rows ?? {})) steps[name] = row === null ? null : row.value;
      return steps;
    });
    return this.#steps;
  }

  async #runStep<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, timeoutMs: number | undefined): Promise<T> {
    const jobSignal = this.#context.abort.signal;
    if (timeoutMs === undefined) return fn(jobSignal);
    const timeout = new AbortController();
    const signal = AbortSignal.any([jobSignal, timeout.signal]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new JobError('STEP_TIMEOUT', `step "${name}" timed out after ${timeoutMs} ms`);
        timeout.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(() => fn(signal)), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The worker lost the job (reclaimed, cancelled): the handler is aborted, nothing is stored. */
  #lost(): Error {
    this.#context.abort.abort('lease-lost');
    return new Error(`job ${this.#context.job.id} is no longer held by this worker`);
  }

  #lostOr(error: unknown): unknown {
    if (error instanceof DatabaseError && error.sqlState === NOT_HELD) return this.#lost();
    return workflowError(error);
  }
}
