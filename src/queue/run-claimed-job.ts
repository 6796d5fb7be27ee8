import type { Driver } from '../drivers/driver.js';
import type { WorkerMetrics } from '../metrics.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import type { Prefetch } from './prefetch.js';
import { runJob } from './run-job.js';
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
 * reclaimed).
 */
export async function runClaimedJob(run: ClaimedJobRun, entry: RunningJob): Promise<void> {
  const { driver, workerId, metrics } = run;
  const { job } = entry;
  try {
    const outcome = await entry.trace.run(() => runJob({
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
    const ms = performance.now() - entry.startedAt;
    metrics.jobDuration.observe({ task: metrics.taskLabel(job.task), outcome: outcome.kind }, ms / 1000);
    run.prefetch.recordRunTime(ms);
    entry.trace.finished(outcome);
    await run.recorder.record(job, outcome, entry.logger, ms);
  } catch (error) {
    entry.logger().error({ err: error }, 'recording the job outcome failed');
  }
}
