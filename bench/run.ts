/**
 * `npm run bench`: supajobs against other job queues on the same PostgreSQL, same job count, same
 * machine. For each system (bench/systems/): a fresh database, N no-op jobs enqueued in batches
 * (then ANALYZE), a worker process started that executes them all, then (after VACUUM ANALYZE)
 * pick-up probes one at a time, then a few start/stop cycles. Prints a Markdown table and, as its
 * last line, one JSON object.
 *
 *   npm run bench -- [--jobs 50000] [--samples 200] [--systems a,b] [--database-url URL]
 *                    [--concurrency 24] [--enqueue-batch 1000] [--start-runs 3]
 *                    [--no-analyze] [--no-vacuum] [--cpu-prof DIR] [--statements]
 *                    [--processes 1] [--history 0]
 *
 * Progress and the workers' own log lines go to stderr; stdout has only the results.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildWorkerProcess } from './lib/build.js';
import { hrMs } from './lib/clock.js';
import { loadAvg1m, machine, markdownTable, type Machine, type SystemResult } from './lib/report.js';
import { openServer, type BenchServer } from './lib/server.js';
import { median, quantile, round } from './lib/stats.js';
import { WorkerChild, withTimeout } from './lib/worker-child.js';
import { loadSystem, SYSTEMS } from './systems/index.js';
import type { BenchEnv, BenchPayload, BenchSystem, SystemRun } from './systems/types.js';

const HELP = `npm run bench -- [options]

  --jobs N            jobs pre-enqueued for the throughput run (default 50000)
  --samples N         pick-up probes, one job at a time (default 200)
  --systems a,b       which systems, in table order (default all: ${Object.keys(SYSTEMS).join(',')})
  --database-url URL  PostgreSQL to run on (else BENCH_DATABASE_URL, else an embedded server)
  --concurrency N     jobs a worker runs at once: supajobs MAX_CONCURRENT_JOBS, graphile-worker
                      concurrentJobs (default 24)
  --enqueue-batch N   jobs per batch enqueue call (default 1000)
  --start-runs N      start/stop cycles for start and idle stop times (default 3)
  --no-analyze        do not ANALYZE each database after enqueueing: the burst lands in a table
                      the planner has no statistics for (until autovacuum's next pass)
  --no-vacuum         do not VACUUM ANALYZE each database before the pick-up probes: they run
                      among the dead rows the burst left (until autovacuum's next pass)
  --cpu-prof DIR      write a V8 CPU profile of each system's throughput worker process into DIR
  --statements        print each system's top statements (pg_stat_statements) of the throughput run
  --processes N       worker processes sharing the throughput jobs and the pick-up probes (default 1);
                      RSS is the largest process's, stop the first's
  --history N         before enqueueing, N completed jobs with their history rows in the table, as
                      a queue that keeps its completed jobs has them (systems that support it)`;

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    samples: { type: 'string', default: '200' },
    systems: { type: 'string' },
    'database-url': { type: 'string' },
    concurrency: { type: 'string', default: '24' },
    'enqueue-batch': { type: 'string', default: '1000' },
    'start-runs': { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    'no-analyze': { type: 'boolean', default: false },
    'no-vacuum': { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
    processes: { type: 'string', default: '1' },
    history: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

function positive(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name}: expected a whole number ≥ ${min}\n\n${HELP}\n`);
    process.exit(2);
  }
  return n;
}

const JOBS = positive('jobs', flags.jobs);
const SAMPLES = positive('samples', flags.samples);
const CONCURRENCY = positive('concurrency', flags.concurrency);
const ENQUEUE_BATCH = positive('enqueue-batch', flags['enqueue-batch']);
const START_RUNS = positive('start-runs', flags['start-runs']);
const PROCESSES = positive('processes', flags.processes);
const HISTORY = positive('history', flags.history, 0);
const SYSTEM_IDS = (flags.systems ?? Object.keys(SYSTEMS).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const id of SYSTEM_IDS) {
  if (!SYSTEMS[id]) {
    process.stderr.write(`--systems: unknown system "${id}" (known: ${Object.keys(SYSTEMS).join(', ')})\n`);
    process.exit(2);
  }
}
/** Probes not counted, first: connections and prepared statements warm up. */
const WARMUP_PROBES = 5;
/** Pause before each probe: at least this, plus a random part (see pickupSpreadMs). */
const PROBE_GAP_MS = 10;
const DEFAULT_PROBE_SPREAD_MS = 40;
/** A start cycle's worker idles this long after ready before it is stopped. */
const SETTLE_BEFORE_STOP_MS = 1_000;

const log = (line: string) => process.stderr.write(`${line}\n`);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const loadAtStart = loadAvg1m();
log(`bench: building the worker process bundle`);
const entry = await buildWorkerProcess(root);
const server = await openServer(flags['database-url'] ?? process.env.BENCH_DATABASE_URL ?? undefined);
log(
  `bench: PostgreSQL ${server.version} (${server.kind}, ${server.address}); ${JOBS} jobs, ${SAMPLES} pick-up samples, concurrency ${CONCURRENCY}` +
    `, ${PROCESSES} worker process${PROCESSES === 1 ? '' : 'es'}${HISTORY ? `, ${HISTORY} completed jobs of history` : ''}`,
);
if (flags.statements && !server.statementStats) log('bench: --statements: pg_stat_statements is not loaded on this server (shared_preload_libraries); skipped');
if (flags['cpu-prof']) await mkdir(flags['cpu-prof'], { recursive: true });

const results: SystemResult[] = [];
const notes: string[] = [];
/** Per-system figures that are not table columns (rpcPerJob), one line each under the table. */
const figureNotes: string[] = [];
let nodeBaseline: Machine['nodeBaseline'] = { startMs: null, rssMB: null };
try {
  nodeBaseline = await measureNodeBaseline();
  log(`bench: an empty Node.js process: start ${nodeBaseline.startMs} ms, peak RSS ${nodeBaseline.rssMB} MB; load average ${loadAtStart}`);
  for (const id of SYSTEM_IDS) {
    const system = await loadSystem(id);
    const result = await benchSystem(system, server);
    results.push(result);
    if (result.skipped) notes.push(`${system.label}: not measured: ${result.skipped}`);
    else if (result.error) notes.push(`${system.label}: failed: ${result.error}`);
  }
} finally {
  await server.stop();
}

const settingsEnv = benchEnv(server, () => undefined);
const settingsNotes: string[] = [];
for (const id of SYSTEM_IDS) {
  const system = await loadSystem(id);
  settingsNotes.push(`- ${system.label}: ${system.settings(settingsEnv)}`);
}
const out = [
  markdownTable(results),
  '',
  ...(notes.length ? [...notes.map((n) => `¹ ${n}`), ''] : []),
  ...(figureNotes.length ? [...figureNotes, ''] : []),
  `${JOBS} no-op jobs, ${SAMPLES} pick-up samples, batch enqueue ${ENQUEUE_BATCH} per call, ` +
    `${PROCESSES} worker process${PROCESSES === 1 ? '' : 'es'} per system${HISTORY ? `, ${HISTORY} completed jobs of history in the table` : ''}${flags['no-analyze'] ? ', no ANALYZE after enqueueing' : ''}${flags['no-vacuum'] ? ', no VACUUM before pick-up' : ''}, ` +
    `PostgreSQL ${server.version} (${server.kind}). An empty Node.js process here: start ${nodeBaseline.startMs} ms, peak RSS ${nodeBaseline.rssMB} MB. ` +
    `Load average (1 min) ${loadAtStart} at start, ${loadAvg1m()} at end.`,
  'Settings:',
  ...settingsNotes,
  '',
  JSON.stringify({
    machine: machine(server.version, nodeBaseline, loadAtStart),
    results: results.map((r) => ({
      system: r.system,
      executedPerSec: r.executedPerSec,
      enqueuePerSec: r.enqueuePerSec,
      pickupP50Ms: r.pickupP50Ms,
      pickupP95Ms: r.pickupP95Ms,
      pickupP99Ms: r.pickupP99Ms,
      rssMB: r.rssMB,
      startMs: r.startMs,
      stopMs: r.stopMs,
      ...(r.rpcPerJob !== undefined ? { rpcPerJob: r.rpcPerJob } : {}),
      ...(r.skipped ? { skipped: r.skipped } : {}),
      ...(r.error ? { error: r.error } : {}),
    })),
  }),
];
process.stdout.write(`${out.join('\n')}\n`);

/** Start and peak RSS of a worker process that loads no system: what Node.js alone costs here. */
async function measureNodeBaseline(): Promise<Machine['nodeBaseline']> {
  const starts: number[] = [];
  const rss: number[] = [];
  for (let n = 0; n < START_RUNS; n++) {
    const child = new WorkerChild(entry, { system: '', worker: {}, expect: 0 }, { label: 'node' });
    try {
      starts.push((await child.ready(30_000)).at - child.spawnedAt);
      rss.push((await child.stop(30_000)).maxRssKB / 1024);
    } finally {
      child.kill();
    }
  }
  return { startMs: round(median(starts), 0), rssMB: round(median(rss), 1) };
}

function benchEnv(srv: BenchServer, onDatabase: (url: string) => void): BenchEnv {
  return {
    concurrency: CONCURRENCY,
    redis: { host: '127.0.0.1', port: 6379 },
    async createDatabase(label) {
      const url = await srv.createDatabase(label);
      onDatabase(url);
      return url;
    },
  };
}

async function benchSystem(system: BenchSystem, srv: BenchServer): Promise<SystemResult> {
  const result: SystemResult = {
    system: system.label,
    executedPerSec: null,
    enqueuePerSec: null,
    pickupP50Ms: null,
    pickupP95Ms: null,
    pickupP99Ms: null,
    rssMB: null,
    startMs: null,
    stopMs: null,
  };
  const databases: string[] = [];
  const env = benchEnv(srv, (url) => databases.push(url));
  const skip = await system.unavailable?.(env);
  if (skip) {
    log(`bench: ${system.label}: skipped: ${skip}`);
    result.skipped = skip;
    return result;
  }
  log(`bench: ${system.label}`);
  let run: SystemRun | undefined;
  const children: WorkerChild[] = [];
  const spawnWorker = (expect: number, nodeArgs: string[] = []) => {
    const child = new WorkerChild(entry, { system: system.id, worker: (run as SystemRun).worker, expect }, { label: system.id, nodeArgs });
    children.push(child);
    return child;
  };
  try {
    run = await system.setup(env);
    if (HISTORY > 0) {
      if (!run.addHistory) throw new Error('--history: this system keeps no completed jobs to add');
      const historyStarted = hrMs();
      await run.addHistory(HISTORY);
      for (const url of databases) await withClient(url, (c) => c.query('vacuum analyze'), 600_000);
      log(`  ${HISTORY} completed jobs of history added in ${((hrMs() - historyStarted) / 1000).toFixed(1)} s`);
    }

    // 1. Batch enqueue of N jobs.
    const payloads: BenchPayload[] = Array.from({ length: JOBS }, (_, i) => ({ i }));
    const enqueueStarted = hrMs();
    for (let from = 0; from < JOBS; from += ENQUEUE_BATCH) await run.enqueue(payloads.slice(from, from + ENQUEUE_BATCH));
    const enqueueMs = hrMs() - enqueueStarted;
    result.enqueuePerSec = round(JOBS / (enqueueMs / 1000), 0);
    log(`  enqueued ${JOBS} in ${enqueueMs.toFixed(0)} ms`);
    // As autovacuum would have by the time a burst is being worked off (its first pass comes within
    // a minute); without it, the run's outcome depends on whether that pass lands mid-run.
    if (!flags['no-analyze']) for (const url of databases) await withClient(url, (c) => c.query('analyze'));
    await resetStatements(databases[0]);

    // 2. The worker processes execute them all.
    const profileArgs = (n: number) =>
      flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(flags['cpu-prof'])}`, `--cpu-prof-name=${system.id}${n ? `-${n}` : ''}.cpuprofile`] : [];
    const rpcBefore = run.rpcCalls?.();
    const workers = Array.from({ length: PROCESSES }, (_, n) => spawnWorker(JOBS, profileArgs(n)));
    const readies = await Promise.all(workers.map((w) => w.ready(60_000)));
    const counts = await allExecuted(workers, 60_000 + JOBS * 10);
    const executedMs = Math.max(...counts.map((c) => c.lastAt)) - Math.min(...readies.map((r) => r.at), ...counts.map((c) => c.firstAt));
    result.executedPerSec = round(JOBS / (executedMs / 1000), 0);
    const cpuMs = counts.reduce((sum, c, n) => sum + c.cpuMs - (readies[n]?.cpuMs ?? 0), 0);
    const twice = counts.reduce((sum, c) => sum + c.executed, 0) - JOBS;
    log(`  executed ${JOBS} in ${executedMs.toFixed(0)} ms (${twice} executed twice); worker CPU ${((cpuMs * 1000) / JOBS).toFixed(0)} µs per job`);
    await waitUntilFinished(run);
    if (rpcBefore) {
      const { perJob, line } = rpcPerJob(rpcBefore, run.rpcCalls?.() ?? {});
      if (perJob !== null) result.rpcPerJob = perJob;
      figureNotes.push(`${system.label}: rpcPerJob ${perJob} at saturation (${line})`);
      log(`  rpcPerJob ${perJob} (${line})`);
    }
    await printStatements(system, databases[0]);
    // Pick-up of an idle worker in a settled database, again as after autovacuum's pass.
    if (!flags['no-vacuum']) for (const url of databases) await withClient(url, (c) => c.query('vacuum analyze'));

    // 3. Pick-up latency, one job at a time into the idle worker.
    const latencies: number[] = [];
    const enqueueCalls: number[] = [];
    const spread = system.pickupSpreadMs ?? DEFAULT_PROBE_SPREAD_MS;
    for (let seq = 0; seq < WARMUP_PROBES + SAMPLES; seq++) {
      await sleep(PROBE_GAP_MS + Math.random() * spread);
      // Whichever process picks it up.
      const picked = withTimeout(Promise.any(workers.map((w) => w.pickup(seq))), 30_000, `pick-up of probe ${seq}`);
      const insertedAt = hrMs();
      await run.enqueueOne({ p: seq });
      const enqueued = hrMs() - insertedAt;
      const latency = (await picked.finally(() => workers.forEach((w) => w.forgetPickup(seq)))) - insertedAt;
      if (seq >= WARMUP_PROBES) latencies.push(latency), enqueueCalls.push(enqueued);
    }
    result.pickupP50Ms = round(quantile(latencies, 0.5), 2);
    result.pickupP95Ms = round(quantile(latencies, 0.95), 2);
    result.pickupP99Ms = round(quantile(latencies, 0.99), 2);
    log(
      `  pick-up p50 ${result.pickupP50Ms} ms, p95 ${result.pickupP95Ms} ms, p99 ${result.pickupP99Ms} ms ` +
        `(of which the enqueue call: p50 ${quantile(enqueueCalls, 0.5).toFixed(2)} ms)`,
    );

    // 4. Idle stop; the worker's peak RSS over all of the above.
    const stopped = await Promise.all(workers.map((w) => w.stop(60_000)));
    result.rssMB = round(Math.max(...stopped.map((s) => s.maxRssKB)) / 1024, 1);
    const stops = [stopped[0]?.stopMs as number];

    // 5. Start (process spawn → ready to claim) and idle stop, on the now existing database.
    const starts: number[] = [];
    for (let n = 0; n < START_RUNS; n++) {
      const cycle = spawnWorker(0);
      starts.push((await cycle.ready(60_000)).at - cycle.spawnedAt);
      // Stopped as an idle worker, not one still finishing its start in the background.
      await sleep(SETTLE_BEFORE_STOP_MS);
      stops.push((await cycle.stop(60_000)).stopMs);
    }
    result.startMs = round(median(starts), 0);
    result.stopMs = round(median(stops), 1);
    log(`  peak RSS ${result.rssMB} MB, start ${result.startMs} ms, idle stop ${result.stopMs} ms`);
  } catch (error) {
    result.error = (error as Error).message;
    log(`  failed: ${(error as Error).stack ?? result.error}`);
  } finally {
    for (const child of children) child.kill();
    await run?.teardown().catch((error: Error) => log(`  teardown: ${error.message}`));
    for (const url of databases) await srv.dropDatabase(url).catch((error: Error) => log(`  dropping the database: ${error.message}`));
  }
  return result;
}

/** Once the workers' counts add up to every job: each one's last count. */
async function allExecuted(workers: WorkerChild[], timeoutMs: number): Promise<NonNullable<WorkerChild['count']>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failed = workers.find((w) => w.failure);
    if (failed) throw failed.failure;
    const counts = workers.map((w) => w.count);
    if (counts.reduce((sum, c) => sum + (c?.unique ?? 0), 0) >= JOBS) return counts.filter((c) => c !== undefined);
    if (Date.now() > deadline) throw new Error(`executing the jobs: not done in ${Math.round(timeoutMs / 1000)} s`);
    await sleep(5);
  }
}

/** RPC calls of the throughput run (worker start included) per job, and the calls by function. */
function rpcPerJob(before: Record<string, number>, after: Record<string, number>): { perJob: number | null; line: string } {
  const calls = Object.entries(after)
    .map(([fn, n]) => [fn, n - (before[fn] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = calls.reduce((sum, [, n]) => sum + n, 0);
  return { perJob: round(total / JOBS, 3), line: `${total} calls for ${JOBS} jobs: ${calls.map(([fn, n]) => `${fn} ${n}`).join(', ')}` };
}

/** After the handlers ran: every completion stored too (batched completions land a little later). */
async function waitUntilFinished(run: SystemRun): Promise<void> {
  const deadline = Date.now() + 30_000;
  let left = await run.unfinished();
  while (left > 0) {
    if (Date.now() > deadline) throw new Error(`${left} jobs still not completed 30 s after their handlers ran`);
    await sleep(10);
    left = await run.unfinished();
  }
}

async function resetStatements(url: string | undefined): Promise<void> {
  if (!flags.statements || !server.statementStats || !url) return;
  await withClient(url, async (c) => {
    await c.query('create extension if not exists pg_stat_statements');
    await c.query('select pg_stat_statements_reset()');
  });
}

async function printStatements(system: BenchSystem, url: string | undefined): Promise<void> {
  if (!flags.statements || !server.statementStats || !url) return;
  await withClient(url, async (c) => {
    const { rows } = await c.query<{ calls: string; total_ms: number; mean_ms: number; rows: string; query: string }>(`
      select calls, round(total_exec_time::numeric, 1)::float8 as total_ms, round(mean_exec_time::numeric, 3)::float8 as mean_ms,
             rows, regexp_replace(query, '\\s+', ' ', 'g') as query
      from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
      order by total_exec_time desc limit 12`);
    log(`  top statements of ${system.label} (calls, total ms, mean ms, rows, query):`);
    for (const r of rows) log(`    ${r.calls}\t${r.total_ms}\t${r.mean_ms}\t${r.rows}\t${r.query.slice(0, 160)}`);
  });
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await withTimeout(use(client), timeoutMs, 'a maintenance statement');
  } finally {
    await client.end();
  }
}
