/**
 * The worker's own cost per job, with no database: a JobProcessor fed by an in-memory driver whose
 * claims return ready-made rows (as the pg driver parses them) and whose other calls answer at once.
 * Prints microseconds of worker CPU per no-op job.
 *
 *   npx tsx bench/processor-overhead.ts [--jobs 200000] [--concurrency 24] [--tracing]
 *
 * --tracing turns the OpenTelemetry spans on (exported to a port nobody listens on, so the cost
 * measured is making the spans); without it the processor calls the no-op tracing, as in production
 * with no OTEL_* variables.
 */
import { parseArgs } from 'node:util';
import type { Driver } from '../src/drivers/driver.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { jobFromRow } from '../src/drivers/rows.js';
import { JobProcessor } from '../src/queue/processor.js';
import { TaskRegistry } from '../src/queue/task-registry.js';
import { loadTracing } from '../src/tracing/load.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '200000' }, concurrency: { type: 'string', default: '24' }, tracing: { type: 'boolean', default: false } } });
const total = Number(values.jobs);
let claimed = 0;
let done = 0;
let finish: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));

function row(n: number): Record<string, unknown> {
  const now = new Date();
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, task: 'noop', queue: 'default', payload: { n }, status: 'processing',
    priority: 0, run_at: now, attempts: 1, max_attempts: 5, locked_by: 'w', lease_expires_at: now, job_key: null, stage: null,
    progress: null, result: null, error_code: null, last_error: null, user_id: null, created_at: now, started_at: now,
    completed_at: null, failed_at: null, updated_at: now,
  };
}

const driver = {
  transport: 'postgres',
  wakeUps: { mode: 'live' },
  onWakeUp: () => () => undefined,
  async claim(request: { batchSize: number }) {
    await new Promise((resolve) => setImmediate(resolve));
    const n = Math.min(request.batchSize, total - claimed);
    const rows = Array.from({ length: n }, () => row(claimed++));
    return rows.map(jobFromRow);
  },
  async complete(_worker: string, completions: { id: string }[]) {
    done += completions.length;
    if (done >= total) finish();
    return completions.map((c) => c.id);
  },
  async heartbeat(_w: string, ids: string[]) {
    return ids;
  },
  async release() {
    return [];
  },
  async reclaimExpired() {
    return 0;
  },
} as unknown as Driver;

const logger = createLogger({ level: 'warn', pretty: false });
const tracingEnv = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
const tracing = await loadTracing(values.tracing ? tracingEnv : {}, logger);
const processor = new JobProcessor({
  driver,
  tasks: new TaskRegistry({ noop: () => undefined }),
  logger,
  metrics: createMetrics(),
  tracing,
  workerId: 'w',
  queues: null,
  maxConcurrentJobs: Number(values.concurrency),
  pollIntervalMs: 1000,
  leaseSeconds: 60,
  jobTimeoutMs: 60_000,
});
const cpu = process.cpuUsage();
const started = performance.now();
processor.start();
await finished;
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
await processor.stop(1000);
const perJob = ((used.user + used.system) / total).toFixed(1);
console.log(`tracing ${tracing.enabled ? 'on' : 'off'}: ${total} jobs in ${ms.toFixed(0)} ms: ${Math.round(total / (ms / 1000))} jobs/s, ${perJob} µs CPU per job (row building included)`);
