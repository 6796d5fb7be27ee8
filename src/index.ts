/**
 * supajobs as a library: run a worker in your own process, or enqueue and manage jobs.
 *
 *   const worker = await createWorker({ tasks: { 'convert-pdf': defineTask({ handler }) } });
 *   await worker.start();
 *   const queue = await connect();          // DATABASE_URL / SUPABASE_URL from the environment or .env
 *   await queue.enqueue({ task: 'convert-pdf', payload: { url } });
 */
import { loadConfig, type Config } from './config.js';
import { openDatabase } from './database/open-database.js';
import { environmentWithDotenv } from './environment.js';
import { createConfiguredLogger, type Logger } from './logger.js';
import { QueueClient } from './queue/client.js';
import type { ScheduleInput } from './schedules/schedule.js';
import type { EnqueueInput } from './job.js';
import type { AnyTask } from './queue/task.js';
import type { TaskRegistry } from './queue/task-registry.js';
import { Worker, type WorkerOptions } from './worker.js';
import { loadTracing } from './tracing/load.js';

export { DEFAULTS, loadConfig, type Config } from './config.js';
export type { Driver, WakeUpHint, WakeUpState } from './drivers/driver.js';
export { PostgresDriver, type PostgresDriverOptions } from './drivers/postgres/driver.js';
export { SupabaseDriver } from './drivers/supabase/driver.js';
export type { SupabaseDriverOptions } from './drivers/supabase/options.js';
export { DatabaseError, JOB_ERROR_CODES, JobError, PermanentJobError, RetryableJobError, type JobErrorCode } from './errors.js';
export { createLogger, type Logger } from './logger.js';
export { migrate } from './migrate.js';
export { QueueClient } from './queue/client.js';
export { QueueControls, type QueueControl } from './queue/queue-controls.js';
export { ScheduleStore, type FiredTick } from './schedules/schedule-store.js';
export { CronSchedule } from './schedules/cron.js';
export type { MissedTicks, Schedule, ScheduleInput } from './schedules/schedule.js';
export type { EnqueueInput, Job, JobStatus, QueueStats } from './job.js';
export type { GroupStats, JobDetail, JobEvent, JobFilter, JobPage, PageRequest, QueueOverview } from './queue/lookups.js';
export type { WaitOptions } from './queue/wait-for-job.js';
export { WaitTimeoutError } from './errors.js';
export { defineTask, type AnyTask, type JobContext, type PayloadSchema, type StandardSchema, type TaskDefinition, type TaskHandler } from './queue/task.js';
export { TaskRegistry, loadTasksFromDir } from './queue/task-registry.js';
export { loadTracing, tracingRequested } from './tracing/load.js';
export { NO_TRACING, type Tracing } from './tracing/tracing.js';
export { Worker, type WorkerOptions, type WorkerState } from './worker.js';
export type { DependencyResult, FlowJobInput } from './workflow/flows.js';
export { writeFileAtomically } from './task-tools/atomic-file.js';
export { httpCall, type HttpCallOptions, type HttpErrorCodes } from './task-tools/http-call.js';
export { runSandboxed, type SandboxLimits, type SandboxOptions } from './task-tools/sandboxed-process.js';
export type { Hook, HookEvent, LifecycleEvent, TaskHooks } from './workflow/hooks.js';
export type { StepOptions, WorkflowContext } from './workflow/job-workflow.js';
export type { RetryPolicy } from './workflow/retry-policy.js';
export type { StageDeclaration } from './workflow/stages.js';

export interface CreateWorkerOptions {
  tasks?: Record<string, AnyTask> | TaskRegistry;
  /** Read instead of process.env. */
  env?: NodeJS.ProcessEnv;
  /** Overrides on top of the environment's config. */
  config?: Partial<Config>;
  logger?: Logger;
  /** Serve /health, /ready and /metrics (default true). */
  healthServer?: boolean;
  /** Recurring jobs declared in code, kept in public.job_schedules (see WorkerOptions.schedules). */
  schedules?: ScheduleInput[];
  /** The app's own routes on the worker's server (a Fastify plugin), e.g. a status endpoint. */
  routes?: WorkerOptions['routes'];
}

/** A worker configured from the environment and .env (plus overrides), not yet started: call start(). */
export function createWorker(options: CreateWorkerOptions = {}): Worker {
  const config = Object.freeze({ ...loadConfig(options.env ?? environmentWithDotenv()), ...options.config });
  const logger = options.logger ?? createConfiguredLogger(config);
  return new Worker({ config, logger, tasks: options.tasks, healthServer: options.healthServer, env: options.env, routes: options.routes, schedules: options.schedules });
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  config?: Partial<Config>;
  logger?: Logger;
}

/** A QueueClient on the configured database (DATABASE_URL, SUPABASE_URL, or the embedded default; environment or .env). */
export async function connect(options: ConnectOptions = {}): Promise<QueueClient> {
  const config = Object.freeze({ ...loadConfig(options.env ?? environmentWithDotenv()), ...options.config });
  const logger = options.logger ?? createConfiguredLogger(config, { level: 'warn', pretty: false, base: undefined });
  const tracing = await loadTracing(options.env ?? process.env, logger);
  const database = await openDatabase(config, logger, 'client');
  return new QueueClient(database.driver, {
    maxPayloadBytes: config.maxPayloadBytes,
    tracing,
    close: async () => (await tracing.flush(), await database.close()),
  });
}

/** Enqueues one job on a connection of its own (for scripts; keep a QueueClient for anything frequent). */
export async function enqueue(job: EnqueueInput, options: ConnectOptions = {}): Promise<string> {
  const queue = await connect(options);
  try {
    return await queue.enqueue(job);
  } finally {
    await queue.close();
  }
}
