/**
 * The supabase transport's two kinds of Realtime wake-ups, postgres_changes and broadcast, through
 * the test stand-in for PostgREST and Realtime (in this process, on loopback) in front of a real
 * PostgreSQL. For each mode: a fresh database and a worker with REALTIME_WAKE_UPS=<mode> and
 * POLL_INTERVAL_MS=600000, so that only wake-ups start jobs; then
 *   1. --jobs no-op jobs enqueued in one enqueue_jobs call (one statement): the wake-up frames the
 *      worker's socket received per job (and, in broadcast mode, the realtime.messages rows
 *      written), and the time until every job ran;
 *   2. --samples pick-up probes, one job at a time (after 5 not counted): from the enqueue_job RPC
 *      to the handler's start, p50 and p95.
 * Then, on a database of its own with no stand-in triggers, the cost of the broadcast path per
 * inserting statement: --overhead-calls single-job enqueue_job calls in one transaction, timed by
 * PostgreSQL per function (track_functions: enqueue_job, job_notify_ready, job_broadcast_ready),
 * with job_notify_ready as it was before broadcast wake-ups existed, with them off, and on (one
 * realtime.messages row per statement through the stand-in's realtime.send), in interleaved
 * rounds; the median round per setting.
 *
 *   npm run bench:wake-ups -- [--jobs 10000] [--samples 100] [--overhead-calls 1000]
 *                              [--overhead-rounds 15] [--database-url URL]
 *
 * Runs on a fresh database on the server of --database-url or BENCH_DATABASE_URL, else on an
 * embedded server started for the run. Progress goes to stderr; stdout has Markdown tables and,
 * as its last line, one JSON object.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { SupabaseDriver } from '../src/drivers/supabase/driver.js';
import type { RealtimeWakeUpMode } from '../src/drivers/supabase/wake-up-channels.js';
import { createLogger } from '../src/logger.js';
import { migrate, SUPABASE_DIR } from '../src/migrate.js';
import { Worker } from '../src/worker.js';
import { installBroadcastFromDatabase } from '../tests/support/supabase-standin/broadcast-from-database.js';
import { startSupabaseStandIn } from '../tests/support/supabase-standin/index.js';
import { hrMs } from './lib/clock.js';
import { loadAvg1m } from './lib/report.js';
import { openServer, type BenchServer } from './lib/server.js';
import { median, quantile, round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    samples: { type: 'string', default: '100' },
    'overhead-calls': { type: 'string', default: '1000' },
    'overhead-rounds': { type: 'string', default: '15' },
    'database-url': { type: 'string' },
  },
});
const JOBS = Number(flags.jobs);
const SAMPLES = Number(flags.samples);
const WARM_UP = 5;
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface ModeResult {
  mode: RealtimeWakeUpMode;
  jobs: number;
  wakeUpFramesPerJob: number;
  messageRowsPerJob: number;
  batchDrainMs: number;
  pickupP50Ms: number | null;
  pickupP95Ms: number | null;
  samples: number;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not in ${timeoutMs} ms`);
    await sleep(2);
  }
}

async function runMode(server: BenchServer, mode: RealtimeWakeUpMode): Promise<ModeResult> {
  const url = await server.createDatabase(`wakeups_${mode}`);
  await migrate(url);
  const standIn = await startSupabaseStandIn({ databaseUrl: url });
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr, secrets: [standIn.serviceRoleKey] });
  const producer = new SupabaseDriver({ url: standIn.url, serviceRoleKey: standIn.serviceRoleKey, logger, realtime: false });
  let ran = 0;
  const started = new Map<number, number>();
  const worker = new Worker({
    config: loadConfig({
      TRANSPORT: 'supabase',
      SUPABASE_URL: standIn.url,
      SUPABASE_SERVICE_ROLE_KEY: standIn.serviceRoleKey,
      REALTIME_WAKE_UPS: mode,
      POLL_INTERVAL_MS: '600000',
      MAX_CONCURRENT_JOBS: '24',
      HEALTH_CHECK_PORT: '0',
      HEALTH_CHECK_HOST: '127.0.0.1',
      MONITOR_INTERVAL_MS: '0',
      SCHEDULER: 'false',
      LOG_LEVEL: 'warn',
    }),
    logger,
    tasks: {
      noop: (job) => {
        const probe = (job.payload as { probe?: number } | null)?.probe;
        if (probe === undefined) ran++;
        else started.set(probe, hrMs());
      },
    },
  });
  try {
    await producer.start();
    await worker.start();
    await waitUntil(() => worker.driver?.wakeUps.mode === 'live', 30_000, `${mode}: wake-ups live`);
    const counters = standIn.counters;
    const event = mode === 'broadcast' ? 'broadcast' : 'postgres_changes';

    progress(`${mode}: ${JOBS} jobs in one enqueue_jobs call`);
    const framesBefore = counters.sent(event);
    const rowsBefore = counters.broadcastsRelayed;
    const t0 = hrMs();
    await producer.enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ task: 'noop', payload: { i } })));
    await waitUntil(() => ran >= JOBS, 30 * 60_000, `${mode}: ${JOBS} jobs run`);
    const batchDrainMs = hrMs() - t0;
    // Change frames trail the claims (the stand-in delivers them in order, as fast as it can): count them all.
    const expectFrames = mode === 'broadcast' ? 1 : JOBS;
    await waitUntil(() => counters.sent(event) - framesBefore >= expectFrames, 10 * 60_000, `${mode}: wake-up frames`).catch(() => undefined);
    await sleep(500);
    const frames = counters.sent(event) - framesBefore;
    const rows = counters.broadcastsRelayed - rowsBefore;

    progress(`${mode}: ${SAMPLES} pick-up probes`);
    const latencies: number[] = [];
    for (let probe = 0; probe < SAMPLES + WARM_UP; probe++) {
      const sent = hrMs();
      await producer.enqueue({ task: 'noop', payload: { probe } });
      await waitUntil(() => started.has(probe), 60_000, `${mode}: probe ${probe}`);
      if (probe >= WARM_UP) latencies.push((started.get(probe) as number) - sent);
      await sleep(20);
    }
    return {
      mode,
      jobs: JOBS,
      wakeUpFramesPerJob: frames / JOBS,
      messageRowsPerJob: rows / JOBS,
      batchDrainMs,
      pickupP50Ms: round(median(latencies), 1),
      pickupP95Ms: round(quantile(latencies, 0.95), 1),
      samples: latencies.length,
    };
  } finally {
    await worker.stop().catch(() => undefined);
    await producer.stop();
    await standIn.stop();
    await server.dropDatabase(url);
  }
}

/** job_notify_ready as the first migration made it, before broadcast wake-ups. */
async function notifyReadyBeforeBroadcasts(): Promise<string> {
  const sql = await readFile(path.join(SUPABASE_DIR, 'migrations', '20261123000200_jobs_triggers.sql'), 'utf8');
  const match = /create function public\.job_notify_ready\([\s\S]*?\n\$\$;/.exec(sql);
  if (!match) throw new Error('job_notify_ready not found in 20261123000200_jobs_triggers.sql');
  return match[0].replace('create function', 'create or replace function');
}

/**
 * n single-job enqueue_job calls in one round trip and one transaction: each is an INSERT statement
 * of its own, so each fires the statement-level triggers (history, job_notify_ready) once.
 */
const ENQUEUE_MANY = "select count(public.enqueue_job('noop')) from generate_series(1, $1)";
const TIMED_FUNCTIONS = ['enqueue_job', 'job_notify_ready', 'job_broadcast_ready'] as const;

interface OverheadResult {
  config: string;
  /** Microseconds per call inside each function (total time, callees included), median round. */
  usPerCall: Record<(typeof TIMED_FUNCTIONS)[number], number | null>;
}

async function functionTimes(client: pg.PoolClient): Promise<Map<string, { calls: number; ms: number }>> {
  const { rows } = await client.query<{ name: string; calls: string; total_ms: number }>(
    'select funcname as name, calls, total_time as total_ms from pg_stat_xact_user_functions where funcname = any ($1)',
    [TIMED_FUNCTIONS],
  );
  return new Map(rows.map((r) => [r.name, { calls: Number(r.calls), ms: r.total_ms }]));
}

/**
 * PostgreSQL's own per-function timings (track_functions) of the transaction, so that the cost of
 * the broadcast path is read apart from the rest of the statement and from the round trips.
 */
async function statementCost(server: BenchServer, calls: number, rounds: number): Promise<OverheadResult[]> {
  const url = await server.createDatabase('wakeups_overhead');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(url);
    await installBroadcastFromDatabase(pool);
    const client = await pool.connect();
    try {
      await client.query("set track_functions = 'all'");
      const { rows: [current] } = await client.query<{ def: string }>(
        "select pg_get_functiondef('public.job_notify_ready(text[], timestamptz[])'::regprocedure) as def",
      );
      const before = await notifyReadyBeforeBroadcasts();
      const now = current?.def as string;
      const off = 'select public.set_broadcast_wake_ups(false)';
      const configs = [
        { config: 'job_notify_ready as before broadcast wake-ups', sql: [before, off], after: [] },
        {
          config: 'off, plain PostgreSQL (no schema realtime)',
          sql: [now, off, 'alter schema realtime rename to realtime_hidden'],
          after: ['alter schema realtime_hidden rename to realtime'],
        },
        { config: 'off, Supabase (schema realtime)', sql: [now, off], after: [] },
        { config: 'on (realtime.send writes one row)', sql: [now, 'select public.set_broadcast_wake_ups(true)'], after: [] },
      ];
      const perRound = new Map(configs.map((c) => [c.config, new Map(TIMED_FUNCTIONS.map((f) => [f, [] as number[]]))]));
      for (let r = 0; r < rounds; r++) {
        for (const { config, sql, after: cleanup } of configs) {
          for (const statement of sql) await client.query(statement);
          // Steady state: the setting changes rarely, so its row has no dead versions to step over.
          await client.query('vacuum supajobs.wake_up_settings');
          // The view holds what this backend has not reported yet, which may include earlier
          // transactions: the difference across the calls is theirs alone.
          await client.query('begin');
          const before = await functionTimes(client);
          await client.query(ENQUEUE_MANY, [calls]);
          const after = await functionTimes(client);
          await client.query('commit');
          for (const statement of cleanup) await client.query(statement);
          const line: string[] = [];
          for (const f of TIMED_FUNCTIONS) {
            const n = (after.get(f)?.calls ?? 0) - (before.get(f)?.calls ?? 0);
            if (n === 0) continue;
            const us = (((after.get(f)?.ms ?? 0) - (before.get(f)?.ms ?? 0)) * 1000) / n;
            perRound.get(config)?.get(f)?.push(us);
            line.push(`${f} ${round(us, 1)} µs`);
          }
          progress(`overhead round ${r + 1}/${rounds}: ${config}: ${line.join(', ')}`);
        }
      }
      return configs.map(({ config }) => ({
        config,
        usPerCall: Object.fromEntries(
          TIMED_FUNCTIONS.map((f) => {
            const values = perRound.get(config)?.get(f) ?? [];
            return [f, values.length > 0 ? round(median(values), 1) : null];
          }),
        ) as OverheadResult['usPerCall'],
      }));
    } finally {
      client.release();
    }
  } finally {
    await pool.end().catch(() => undefined);
    await server.dropDatabase(url);
  }
}

const loadAtStart = loadAvg1m();
const server = await openServer(flags['database-url'] ?? process.env.BENCH_DATABASE_URL);
try {
  const modes: ModeResult[] = [];
  for (const mode of ['postgres_changes', 'broadcast'] as const) modes.push(await runMode(server, mode));
  const overhead = await statementCost(server, Number(flags['overhead-calls']), Number(flags['overhead-rounds']));

  console.log(`| mode | wake-up frames per job | realtime.messages rows per job | ${JOBS} jobs run in (ms) | pick-up p50 ms | pick-up p95 ms |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const m of modes) {
    console.log(`| ${m.mode} | ${round(m.wakeUpFramesPerJob, 4)} | ${round(m.messageRowsPerJob, 4)} | ${Math.round(m.batchDrainMs)} | ${m.pickupP50Ms} | ${m.pickupP95Ms} |`);
  }
  console.log('');
  console.log('| single-job enqueue_job, µs per call (median round) | enqueue_job | job_notify_ready | job_broadcast_ready |');
  console.log('|---|---:|---:|---:|');
  for (const o of overhead) {
    console.log(`| ${o.config} | ${o.usPerCall.enqueue_job} | ${o.usPerCall.job_notify_ready} | ${o.usPerCall.job_broadcast_ready ?? '–'} |`);
  }
  console.log('');
  console.log(
    `PostgreSQL ${server.version} (${server.kind}); ${SAMPLES} probes after ${WARM_UP}; load average ${loadAtStart} at start, ${loadAvg1m()} at end`,
  );
  console.log(JSON.stringify({ postgres: server.version, loadAvg1m: { atStart: loadAtStart, atEnd: loadAvg1m() }, modes, overhead }));
} finally {
  await server.stop();
}
