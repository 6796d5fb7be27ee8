import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_ERROR_CODES } from './errors.js';
import * as prom from './prom-client-parts.js';

/** The label of every task name a worker has no handler for: such names must not add series without bound. */
export const UNREGISTERED_TASK = '(unregistered)';

/** Driver calls counted in supajobs_database_errors_total{operation}. */
export const DATABASE_OPERATIONS = ['ping', 'claim', 'heartbeat', 'complete', 'fail', 'release', 'progress', 'reclaim', 'stats', 'enqueue'] as const;
export type DatabaseOperation = (typeof DATABASE_OPERATIONS)[number];

const WAKE_UP_MODES = ['live', 'connecting', 'poll-only'] as const;

/** The worker's Prometheus metrics, on a registry of its own (several workers may share a process). */
export interface WorkerMetrics {
  registry: Registry;
  jobsCompleted: Counter<'task'>;
  jobsFailed: Counter<'task' | 'code'>;
  jobsRetried: Counter<'task' | 'code'>;
  jobsFencedOut: Counter<'task'>;
  jobsReleased: Counter<'task'>;
  jobsClaimed: Counter;
  jobDuration: Histogram<'task' | 'outcome'>;
  pickUpWait: Histogram;
  jobsInFlight: Gauge;
  queueJobs: Gauge<'queue' | 'status'>;
  oldestPendingAge: Gauge<'queue'>;
  claims: Counter;
  claimsEmpty: Counter;
  reclaimed: Counter;
  jobsPurged: Counter;
  queuePaused: Gauge<'queue'>;
  queueMaxRunning: Gauge<'queue'>;
  queueMaxPerSecond: Gauge<'queue'>;
  scheduleEnabled: Gauge<'schedule'>;
  scheduleLastTick: Gauge<'schedule'>;
  scheduleTicks: Counter<'schedule'>;
  deadLetterAlerts: Counter<'queue'>;
  databaseErrors: Counter<'operation'>;
  /** The task label of a job: its name if this worker runs it, else UNREGISTERED_TASK. */
  taskLabel(task: string): string;
  /** Names the tasks this worker runs and starts their series at 0 (a series born at 1 shows no increase()). */
  setTasks(names: string[]): void;
  /** Build info and the scrape-time gauges of readiness and wake-up mode. */
  describeWorker(info: WorkerInfo): void;
  /**
   * Adds prom-client's default metrics (process CPU and memory, heap, event loop lag, GC), once.
   * Apart from createMetrics so that loading them is not on the way to the first claim.
   */
  collectDefaults(): void;
}

export interface WorkerInfo {
  version: string;
  transport: string;
  ready: () => Promise<boolean>;
  wakeUpMode: () => (typeof WAKE_UP_MODES)[number] | undefined;
}

export function createMetrics(): WorkerMetrics {
  const registry = new prom.Registry();
  const registers = [registry];
  let tasks = new Set<string>();
  let defaultsCollected = false;
  const metrics: WorkerMetrics = {
    registry,
    jobsCompleted: new prom.Counter({ name: 'supajobs_jobs_completed_total', help: 'Jobs this worker completed', labelNames: ['task'], registers }),
    jobsFailed: new prom.Counter({ name: 'supajobs_jobs_failed_total', help: 'Jobs this worker moved to failed (dead letter)', labelNames: ['task', 'code'], registers }),
    jobsRetried: new prom.Counter({ name: 'supajobs_jobs_retried_total', help: 'Failed attempts scheduled for retry', labelNames: ['task', 'code'], registers }),
    jobsFencedOut: new prom.Counter({ name: 'supajobs_jobs_fenced_out_total', help: 'Outcomes refused because the lease had been lost', labelNames: ['task'], registers }),
    jobsReleased: new prom.Counter({ name: 'supajobs_jobs_released_total', help: 'Jobs given back unfinished at shutdown', labelNames: ['task'], registers }),
    jobsClaimed: new prom.Counter({ name: 'supajobs_jobs_claimed_total', help: 'Jobs this worker claimed', registers }),
    jobDuration: new prom.Histogram({
      name: 'supajobs_job_duration_seconds',
      help: 'Handler run time',
      labelNames: ['task', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    }),
    pickUpWait: new prom.Histogram({
      name: 'supajobs_job_pick_up_wait_seconds',
      help: 'From a job becoming ready (run_at) to its claim, by the database clock',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600],
      registers,
    }),
    jobsInFlight: new prom.Gauge({ name: 'supajobs_jobs_in_flight', help: 'Handlers running now', registers }),
    queueJobs: new prom.Gauge({ name: 'supajobs_queue_jobs', help: 'Jobs per queue and status in the whole database (every worker reports the same figures: aggregate with max, not sum)', labelNames: ['queue', 'status'], registers }),
    oldestPendingAge: new prom.Gauge({ name: 'supajobs_queue_oldest_pending_age_seconds', help: 'Age of the oldest ready job in the whole database; absent while a queue has none', labelNames: ['queue'], registers }),
    claims: new prom.Counter({ name: 'supajobs_claims_total', help: 'claim_jobs calls', registers }),
    claimsEmpty: new prom.Counter({ name: 'supajobs_claims_empty_total', help: 'claim_jobs calls that returned no job', registers }),
    reclaimed: new prom.Counter({ name: 'supajobs_jobs_reclaimed_total', help: 'Expired leases this worker reclaimed', registers }),
    jobsPurged: new prom.Counter({ name: 'supajobs_jobs_purged_total', help: 'Finished jobs past retention this worker deleted, with their history', registers }),
    queuePaused: new prom.Gauge({ name: 'supajobs_queue_paused', help: '1 while the queue is paused (get_queue_controls)', labelNames: ['queue'], registers }),
    queueMaxRunning: new prom.Gauge({ name: 'supajobs_queue_max_running', help: 'The queue\'s limit on jobs processing at once, fleet-wide', labelNames: ['queue'], registers }),
    queueMaxPerSecond: new prom.Gauge({ name: 'supajobs_queue_max_per_second', help: 'The queue\'s limit on jobs started per second, fleet-wide', labelNames: ['queue'], registers }),
    scheduleEnabled: new prom.Gauge({ name: 'supajobs_schedule_enabled', help: '1 while the schedule is enabled (job_schedules)', labelNames: ['schedule'], registers }),
    scheduleLastTick: new prom.Gauge({ name: 'supajobs_schedule_last_tick_timestamp_seconds', help: 'The latest tick of the schedule enqueued or passed over (Unix time)', labelNames: ['schedule'], registers }),
    scheduleTicks: new prom.Counter({ name: 'supajobs_schedule_ticks_enqueued_total', help: 'Schedule ticks this worker enqueued', labelNames: ['schedule'], registers }),
    deadLetterAlerts: new prom.Counter({ name: 'supajobs_dead_letter_alerts_total', help: 'Dead-letter alerts this worker fired (one per crossing, fleet-wide)', labelNames: ['queue'], registers }),
    databaseErrors: new prom.Counter({ name: 'supajobs_database_errors_total', help: 'Failed database calls, by operation (claim, heartbeat, complete, ...)', labelNames: ['operation'], registers }),
    taskLabel: (task) => (tasks.has(task) ? task : UNREGISTERED_TASK),
    setTasks(names) {
      tasks = new Set(names);
      for (const task of [...names, UNREGISTERED_TASK]) {
        metrics.jobsCompleted.inc({ task }, 0);
        metrics.jobsFencedOut.inc({ task }, 0);
        metrics.jobsReleased.inc({ task }, 0);
        for (const [code, { retryable }] of Object.entries(JOB_ERROR_CODES)) {
          metrics.jobsFailed.inc({ task, code }, 0);
          if (retryable) metrics.jobsRetried.inc({ task, code }, 0);
        }
      }
    },
    describeWorker(info) {
      new prom.Gauge({ name: 'supajobs_build_info', help: 'Version and transport of this worker (always 1)', labelNames: ['version', 'transport'], registers }).set(
        { version: info.version, transport: info.transport },
        1,
      );
      new prom.Gauge({
        name: 'supajobs_ready',
        help: '1 when /ready would answer 200',
        registers,
        async collect() {
          this.set((await info.ready()) ? 1 : 0);
        },
      });
      new prom.Gauge({
        name: 'supajobs_wakeup_mode',
        help: 'How jobs are noticed: 1 for the current mode (live, connecting, poll-only)',
        labelNames: ['mode'],
        registers,
        collect() {
          const current = info.wakeUpMode();
          for (const mode of WAKE_UP_MODES) this.set({ mode }, mode === current ? 1 : 0);
        },
      });
    },
    collectDefaults() {
      if (defaultsCollected) return;
      defaultsCollected = true;
      // The event-loop delay is sampled every 100 ms, not every 10: an idle worker then wakes about
      // 23 times a second, not 200 (docs/operations.md, "Metrics").
      prom.loadCollectDefaultMetrics()({ register: registry, prefix: 'supajobs_', eventLoopMonitoringPrecision: 100 });
      // prom-client names three gauges *_total (active handles, requests, resources), which
      // Prometheus reserves for counters: `promtool check metrics` refuses them.
      for (const metric of registry.getMetricsAsArray()) {
        if (metric instanceof prom.Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name);
      }
    },
  };
  for (const operation of DATABASE_OPERATIONS) metrics.databaseErrors.inc({ operation }, 0);
  metrics.jobsClaimed.inc(0);
  metrics.jobsPurged.inc(0);
  return metrics;
}
