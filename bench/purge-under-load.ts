/**
 * `npx tsx bench/purge-under-load.ts`: what purging a large backlog of finished jobs costs the
 * queue's own work. Fills N finished jobs (default 1,000,000, all older than 7 days, each with
 * three history rows), starts a worker and a steady load (enqueued jobs plus pick-up probes), and
 * after a baseline period purges every old job while the load runs. Prints pick-up latency
 * (enqueue to handler start, p50/p95/p99/max) in the baseline and during the purge, the purge's
 * duration and the WAL its own transactions wrote (EXPLAIN (ANALYZE, WAL) of each purge_jobs
 * call: a server shared with other databases makes a pg_current_wal_lsn() difference meaningless).
 * The batches go through purgeInBatches, the loop QueueClient.purge and the retention use.
 *
 *   npx tsx bench/purge-under-load.ts [--jobs 1000000] [--rate 1000] [--baseline-seconds 30]
 *     [--batch-size 1000] [--pause-ms 100] [--probe-ms 50] [--one-statement]
 *
 * --one-statement: purge_jobs without batch_size (everything in one statement), for comparison.
 * On a fresh database of BENCH_DATABASE_URL's server when set, else an embedded server.
 * Progress goes to stderr; stdout has the figures and, last, one JSON line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { PostgresDriver } from '../src/drivers/postgres/driver.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { QueueClient } from '../src/queue/client.js';
import { purgeInBatches } from '../src/queue/purge-batches.js';
import { Worker } from '../src/worker.js';
import { hrMs } from './lib/clock.js';
import { MeasuredPurger } from './lib/measured-purger.js';
import { loadAvg1m } from './lib/report.js';
import { openServer } from './lib/server.js';
import { median, quantile, round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '1000' },
    'baseline-seconds': { type: 'string', default: '30' },
    'batch-size': { type: 'string', default: '1000' },
    'pause-ms': { type: 'string', default: '100' },
    'probe-ms': { type: 'string', default: '50' },
    'one-statement': { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof flags) => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
  return n;
};
const [jobs, rate, baselineSeconds, batchSize, pauseMs, probeMs] = (['jobs', 'rate', 'baseline-seconds', 'batch-size', 'pause-ms', 'probe-ms'] as const).map(num) as number[] as [number, number, number, number, number, number];
const oneStatement = flags['one-statement'] === true;
const log = (line: string) => process.stderr.write(`${line}\n`);
const loadAtStart = loadAvg1m();

const server = await openServer(process.env.BENCH_DATABASE_URL);
const url = await server.createDatabase('purge_under_load');
await migrate(url);
const db = new pg.Client({ connectionString: url });
await db.connect();
const one = async <T>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0] as T;

// ── The backlog: finished jobs last changed 8 to 38 days ago, three history rows each ─────────
log(`filling ${jobs.toLocaleString('en-US')} finished jobs`);
const filled = hrMs();
const CHUNK = 100_000;
for (let from = 0; from < jobs; from += CHUNK) {
  await db.query(
    `with added as (
       insert into public.jobs (task, queue, payload, status, attempts, created_at, started_at, completed_at, failed_at, error_code, updated_at)
       select 'old', 'q' || (n % 4), jsonb_build_object('n', n), s.status, 1, t.at, t.at,
              case when s.status = 'completed' then t.at end, case when s.status = 'failed' then t.at end,
              case when s.status = 'failed' then 'HANDLER_ERROR' end, t.at
       from generate_series($1::bigint, $2::bigint) n
       cross join lateral (select case when n % 100 < 2 then 'failed' when n % 100 < 3 then 'cancelled' else 'completed' end as status) s
       cross join lateral (select now() - interval '8 days' - random() * interval '30 days' as at) t
       returning id, queue, status, updated_at
     )
     -- The insert trigger wrote each job's 'enqueued' row; these are its claim and its end.
     insert into public.job_events (job_id, queue, task, event, from_status, to_status, attempt, worker_id, created_at)
     select id, queue, 'old', 'processing', 'pending', 'processing', 1, 'filler', updated_at from added
     union all
     select id, queue, 'old', status, 'processing', status, 1, 'filler', updated_at from added`,
    [from, Math.min(from + CHUNK, jobs) - 1],
  );
  log(`  ${Math.min(from + CHUNK, jobs).toLocaleString('en-US')}`);
}
await db.query('vacuum analyze public.jobs');
await db.query('vacuum analyze public.job_events');
await db.query('checkpoint');
const sizes = await one<{ jobs: string; events: string }>(
  "select pg_size_pretty(pg_total_relation_size('public.jobs')) as jobs, pg_size_pretty(pg_total_relation_size('public.job_events')) as events",
);
log(`filled in ${round((hrMs() - filled) / 1000, 1)} s (jobs ${sizes.jobs}, job_events ${sizes.events})`);

// ── One batch's plan at this size (rolled back): every scan must be an index scan ─────────────
const plan = await planOfOneBatch();
log(`one batch's scans:\n${plan.map((l) => `  ${l}`).join('\n')}`);

// ── The worker and the load ───────────────────────────────────────────────────────────────
type Phase = 'warm-up' | 'baseline' | 'purge' | 'after';
let phase: Phase = 'warm-up';
const pickUps: Record<Phase, number[]> = { 'warm-up': [], baseline: [], purge: [], after: [] };
const executed: Record<Phase, number> = { 'warm-up': 0, baseline: 0, purge: 0, after: 0 };
const logger = createLogger({ level: 'warn', pretty: false });
const config = loadConfig({ DATABASE_URL: url, MIGRATE_ON_START: 'false', MONITOR_INTERVAL_MS: '0', SCHEDULER: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', MAX_CONCURRENT_JOBS: '20' });
const worker = new Worker({
  config,
  logger,
  healthServer: false,
  tasks: {
    load: () => void executed[phase]++,
    probe: (job: { payload: { sentAt: number } }) => void pickUps[phase].push(hrMs() - job.payload.sentAt),
  },
});
await worker.start();
const producer = new PostgresDriver({ connectionString: url, logger, listen: false, poolSize: 4 });
await producer.start();
const producerClient = new QueueClient(producer, { close: async () => {} });

let loading = true;
const perTick = Math.max(1, Math.round(rate / 10));
const load = (async () => {
  for (let next = hrMs(); loading; next += 100) {
    if (rate > 0) await producerClient.enqueueMany(Array.from({ length: perTick }, () => ({ task: 'load', queue: 'load' })));
    await sleep(Math.max(0, next + 100 - hrMs()));
  }
})();
const probes = (async () => {
  while (loading) {
    await producerClient.enqueue({ task: 'probe', queue: 'probe', payload: { sentAt: hrMs() } });
    await sleep(probeMs);
  }
})();

log('warm-up 5 s');
await sleep(5_000);
phase = 'baseline';
log(`baseline ${baselineSeconds} s`);
await sleep(baselineSeconds * 1000);

phase = 'purge';
const loadAtPurge = loadAvg1m();
log(oneStatement ? 'purging in one statement' : `purging in batches of ${batchSize}, at least ${pauseMs} ms apart`);
const purger = new MeasuredPurger(url);
await purger.connect();
const purgeStarted = hrMs();
const statuses = ['completed', 'cancelled', 'failed'] as const;
const purged = oneStatement
  ? ((await purger.purge(7 * 86_400, [...statuses])) ?? 0)
  : (await purgeInBatches(purger, { olderThanSeconds: 7 * 86_400, statuses: [...statuses], batchSize, pauseMs, whenBusy: 'wait' })).purged;
const purgeMs = hrMs() - purgeStarted;
phase = 'after';
await sleep(2_000);

loading = false;
await Promise.all([load, probes]);
await worker.stop();
await producer.stop();
await purger.end();
const left = await one<{ jobs: number; events: number }>(
  "select (select count(*)::int from public.jobs where task = 'old') as jobs, (select count(*)::int from public.job_events where task = 'old') as events",
);
await db.end();
await server.dropDatabase(url);
await server.stop();

// ── Report ──────────────────────────────────────────────────────────────────────────────
const summary = (values: number[]) => ({
  probes: values.length,
  p50: round(median(values), 1),
  p95: round(quantile(values, 0.95), 1),
  p99: round(quantile(values, 0.99), 1),
  max: round(Math.max(...values), 1),
});
const baseline = summary(pickUps.baseline);
const during = summary(pickUps.purge);
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
const result = {
  jobs,
  purged,
  left,
  mode: oneStatement ? 'one statement' : `batches of ${batchSize}, pause ≥ ${pauseMs} ms and ≥ the batch's time`,
  rate,
  postgres: server.version,
  loadAvg1m: { atStart: loadAtStart, atPurge: loadAtPurge, atEnd: loadAvg1m() },
  purgeSeconds: round(purgeMs / 1000, 1),
  purgedPerSecond: Math.round(purged / (purgeMs / 1000)),
  wal: { MB: mb(purger.wal.bytes), records: purger.wal.records, fullPageImages: purger.wal.fpi, calls: purger.calls, longestCallMs: round(purger.longestMs, 1) },
  pickUpMs: { baseline, duringPurge: during },
  p99Ratio: round((during.p99 ?? 0) / (baseline.p99 ?? 1), 2),
  loadJobsPerSecond: { baseline: Math.round(executed.baseline / baselineSeconds), duringPurge: Math.round(executed.purge / (purgeMs / 1000)) },
  plan,
};
const row = (name: string, s: ReturnType<typeof summary>) => `| ${name} | ${s.probes} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} |`;
process.stdout.write(
  [
    `${jobs.toLocaleString('en-US')} finished jobs purged (${result.mode}) under a load of ${rate} jobs/s, ${server.version}, load average ${result.loadAvg1m.atStart} / ${result.loadAvg1m.atPurge} / ${result.loadAvg1m.atEnd}`,
    '',
    '| phase | probes | pick-up p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|',
    row('baseline', baseline),
    row('during purge', during),
    '',
    `purge: ${purged.toLocaleString('en-US')} jobs in ${result.purgeSeconds} s (${result.purgedPerSecond.toLocaleString('en-US')} jobs/s); ${purger.calls} calls, the longest ${result.wal.longestCallMs} ms; WAL of the purge's transactions ${result.wal.MB} MB (${result.wal.fullPageImages.toLocaleString('en-US')} full-page images); p99 during / baseline: ${result.p99Ratio}`,
    `left behind: ${left.jobs} jobs, ${left.events} history rows`,
    JSON.stringify(result),
    '',
  ].join('\n'),
);

/** The scan lines of one batch's statements (auto_explain), in a transaction rolled back. */
async function planOfOneBatch(): Promise<string[]> {
  const notices: string[] = [];
  const listen = (notice: { message?: string }) => notices.push(notice.message ?? '');
  db.on('notice', listen);
  try {
    await db.query('begin');
    await db.query("load 'auto_explain'");
    await db.query('set local auto_explain.log_min_duration = 0');
    await db.query('set local auto_explain.log_nested_statements = on');
    await db.query("set local auto_explain.log_level = 'notice'");
    await db.query("select public.purge_jobs('7 days', '{completed,cancelled,failed}', $1)", [batchSize]);
  } finally {
    await db.query('rollback');
    db.off('notice', listen);
  }
  return notices
    .filter((n) => /from public\.(jobs|job_events)/i.test(n))
    .flatMap((n) => n.split('\n').filter((l) => /Scan/.test(l)).map((l) => l.trim().replace(/\s+\(cost.*$/, '')));
}

