import type { Driver } from '../drivers/driver.js';
import type { WorkerMetrics } from '../metrics.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import type { Prefetch } from './prefetch.js';
import { runJob, type JobOutcome } from './run-job.js';
import type { RunningJob } from './running-jobs.js';
import type { TaskRegistry } from './task-registry.js';
import { retryTransient } from './transient-retry.js';

export interface ClaimedJobRun {
  driver: Driver;
  workerId: string;
  tasks: TaskRegistry;
  jobTimeoutMs: number;
  metrics: WorkerMetrics;
  prefetch: Prefetch;
  recorder: OutcomeRecorder;
}

/**
 * Takes one started job to its stored outcome: runs the handler (its progress reports go through
 * the lease holder's fence; a lost lease aborts it), times it, and hands the outcome to the
 * recorder. Never rejects: a failure to record is logged (the lease then expires and the job is
 * reclaimed). A handler that returned a value is done when this returns (undefined, no promise).
 */
export function runClaimedJob(run: ClaimedJobRun, entry: RunningJob): Promise<void> | undefined {
  const { driver, workerId } = run;
  const { job } = entry;
  let outcome: JobOutcome | Promise<JobOutcome>;
  try {
    outcome = entry.trace.run(() => runJob({
      job,
      task: run.tasks.get(job.task),
      abort: entry.abort,
      timeoutMs: run.jobTimeoutMs,
      logger: entry.logger,
      workerId,
      driver,
      progress: async (stage, data) => {
        const held = await retryTransient(() => driver.progress(workerId, job.id, stage, data ?? null, job.attempts));
        if (!held) entry.abort.abort('lease-lost');
      },
    }));
  } catch (error) {
    return void recordingFailed(entry, error);
  }
  if (outcome instanceof Promise) return outcome.then((o) => record(run, entry, o)).catch((error: unknown) => recordingFailed(entry, error));
  try {
    return record(run, entry, outcome);
  } catch (error) {
    return void recordingFailed(entry, error);
  }
}

function record(run: ClaimedJobRun, entry: RunningJob, outcome: JobOutcome): Promise<void> | undefined {
  const { job } = entry;
  const ms = performance.now() - entry.startedAt;
  run.metrics.jobDuration.observe({ task: run.metrics.taskLabel(job.task), outcome: outcome.kind }, ms / 1000);
  run.prefetch.recordRunTime(ms);
  entry.trace.finished(outcome);
  return run.recorder.record(job, outcome, entry.logger, ms)?.catch((error: unknown) => recordingFailed(entry, error));
}

function recordingFailed(entry: RunningJob, error: unknown): void {
  entry.logger().error({ err: error }, 'recording the job outcome failed');
}
