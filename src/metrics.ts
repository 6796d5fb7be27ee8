import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's Prometheus metrics, on a registry of its own (several workers may share a process). */
export interface WorkerMetrics {
  registry: Registry;
  jobsCompleted: Counter<'task'>;
  jobsFailed: Counter<'task' | 'code'>;
  jobsRetried: Counter<'task' | 'code'>;
  jobsFencedOut: Counter<'task'>;
  jobsReleased: Counter<'task'>;
  jobDuration: Histogram<'task' | 'outcome'>;
  jobsInFlight: Gauge;
  queueJobs: Gauge<'queue' | 'status'>;
  oldestPendingAge: Gauge<'queue'>;
  claims: Counter;
  reclaimed: Counter;
  deadLetterAlerts: Counter<'queue'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'supajobs_' });
  const registers = [registry];
  return {
    registry,
    jobsCompleted: new Counter({ name: 'supajobs_jobs_completed_total', help: 'Jobs this worker completed', labelNames: ['task'], registers }),
    jobsFailed: new Counter({ name: 'supajobs_jobs_failed_total', help: 'Jobs this worker moved to failed (dead letter)', labelNames: ['task', 'code'], registers }),
    jobsRetried: new Counter({ name: 'supajobs_jobs_retried_total', help: 'Failed attempts scheduled for retry', labelNames: ['task', 'code'], registers }),
    jobsFencedOut: new Counter({ name: 'supajobs_jobs_fenced_out_total', help: 'Outcomes refused because the lease had been lost', labelNames: ['task'], registers }),
    jobsReleased: new Counter({ name: 'supajobs_jobs_released_total', help: 'Jobs given back unfinished at shutdown', labelNames: ['task'], registers }),
    jobDuration: new Histogram({
      name: 'supajobs_job_duration_seconds',
      help: 'Handler run time',
      labelNames: ['task', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    }),
    jobsInFlight: new Gauge({ name: 'supajobs_jobs_in_flight', help: 'Handlers running now', registers }),
    queueJobs: new Gauge({ name: 'supajobs_queue_jobs', help: 'Jobs per queue and status (from get_queue_stats)', labelNames: ['queue', 'status'], registers }),
    oldestPendingAge: new Gauge({ name: 'supajobs_queue_oldest_pending_age_seconds', help: 'Age of the oldest ready job', labelNames: ['queue'], registers }),
    claims: new Counter({ name: 'supajobs_claims_total', help: 'claim_jobs calls', registers }),
    reclaimed: new Counter({ name: 'supajobs_jobs_reclaimed_total', help: 'Expired leases this worker reclaimed', registers }),
    deadLetterAlerts: new Counter({ name: 'supajobs_dead_letter_alerts_total', help: 'Dead-letter alerts this worker fired (one per crossing, fleet-wide)', labelNames: ['queue'], registers }),
  };
}
