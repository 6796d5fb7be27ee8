import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { RecordOutcome } from './outcome-recorder.js';

/** Counts a stored outcome in the worker's metrics; a fenced-out one is also logged. */
export function countOutcome(metrics: WorkerMetrics, logger: Logger): (job: Job, outcome: RecordOutcome) => void {
  return (job, outcome) => {
    const task = metrics.taskLabel(job.task);
    switch (outcome.kind) {
      case 'completed':
        return void metrics.jobsCompleted.inc({ task });
      case 'retry-scheduled':
        return void metrics.jobsRetried.inc({ task, code: outcome.code });
      case 'dead-lettered':
        return void metrics.jobsFailed.inc({ task, code: outcome.code });
      case 'fenced-out':
        metrics.jobsFencedOut.inc({ task });
        logger.warn({ jobId: job.id, task: job.task }, 'outcome refused: this worker no longer held the job');
    }
  };
}

/** Counts claimed jobs and how long each waited between becoming ready (run_at) and its claim. */
export function countClaimed(metrics: Pick<WorkerMetrics, 'jobsClaimed' | 'pickUpWait'>, jobs: Job[]): void {
  metrics.jobsClaimed.inc(jobs.length);
  // Both times are the database's clock (started_at is the claim's now()).
  for (const job of jobs) if (job.startedAt) metrics.pickUpWait.observe(Math.max(0, job.startedAt.getTime() - job.runAt.getTime()) / 1000);
}
