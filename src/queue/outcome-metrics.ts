import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { RecordOutcome } from './outcome-recorder.js';

/** Counts a stored outcome in the worker's metrics; a fenced-out one is also logged. */
export function countOutcome(metrics: WorkerMetrics, logger: Logger): (job: Job, outcome: RecordOutcome) => void {
  return (job, outcome) => {
    switch (outcome.kind) {
      case 'completed':
        return void metrics.jobsCompleted.inc({ task: job.task });
      case 'retry-scheduled':
        return void metrics.jobsRetried.inc({ task: job.task, code: outcome.code });
      case 'dead-lettered':
        return void metrics.jobsFailed.inc({ task: job.task, code: outcome.code });
      case 'fenced-out':
        metrics.jobsFencedOut.inc({ task: job.task });
        logger.warn({ jobId: job.id, task: job.task }, 'outcome refused: this worker no longer held the job');
    }
  };
}
