/**
 * `npm run bench:row-cost`: what one job costs PostgreSQL, and which part of the schema pays it.
 * For each variant of the schema: a fresh database, then rounds of N jobs through enqueue_jobs
 * (chunks of 1,000), claim_jobs (batches of 250) and complete_jobs, on one connection. It reads
 * that connection's backend CPU time from /proc (so the figures hold on a busy machine better
 * than a wall clock does; the server must run on this machine) and the WAL written per job (exact
 * on the embedded server only: on a shared server other writers add to it).
 *
 *   npm run bench:row-cost -- [--jobs 20000] [--rounds 3] [--variants shipped,lean-history,...]
 *                             [--history N]
 *
 * --history N: before the rounds, N completed jobs with their history rows in the table (as
 * `npm run bench -- --history` adds them), and get_queue_stats() timed (median of 20 calls):
 * what a table with kept history costs the hot path and the statistics.
 *
 * Variants (each a change made to the scratch database only, to see what a part costs):
 *   shipped              the migrations as they are (history level full)
 *   lean-history         set_job_history('lean'): no history row for enqueue, claim and completion
 *   no-listing-indexes   without the indexes only the listings read: jobs_created_idx,
 *                        jobs_task_idx, jobs_queue_idx
 *   bare                 both of the above
 *
 * Runs on the server of BENCH_DATABASE_URL when set, else on an embedded server started for the
 * run. stdout has a Markdown table and, last, one JSON line.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/migrate.js';
import { backendCpuUs } from './lib/backend-cpu.js';
import { hrMs } from './lib/clock.js';
import { loadAvg1m } from './lib/report.js';
import { openServer } from './lib/server.js';
import { median, round } from './lib/stats.js';
import { addSupajobsHistory } from './lib/supajobs-history.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'shipped,lean-history,no-listing-indexes,bare' },
    history: { type: 'string', default: '0' },
  },
});
const JOBS = Number(flags.jobs);
const ROUNDS = Number(flags.rounds);
const HISTORY = Number(flags.history);
if (!Number.isInteger(JOBS) || JOBS < 1000 || !Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(HISTORY) || HISTORY < 0) {
  throw new Error('--jobs must be an integer of at least 1000, --rounds a positive integer, --history a count');
}

const NO_LISTING_INDEXES = 'drop index public.jobs_created_idx; drop index public.jobs_task_idx; drop index public.jobs_queue_idx;';

const LEAN_HISTORY = "select public.set_job_history('lean');";

const VARIANTS: Record<string, string> = {
  shipped: '',
  'lean-history': LEAN_HISTORY,
  'no-listing-indexes': NO_LISTING_INDEXES,
  bare: LEAN_HISTORY + NO_LISTING_INDEXES,
};
const variants = flags.variants.split(',').map((v) => v.trim());
for (const v of variants) if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}: one of ${Object.keys(VARIANTS).join(', ')}`);

interface Round {
  enqueueUs: number;
  claimUs: number;
  completeUs: number;
  walBytes: number;
}

async function walBytes(client: pg.Client): Promise<number> {
  return Number((await client.query<{ b: string }>("select pg_current_wal_lsn() - '0/0'::pg_lsn as b")).rows[0]?.b);
}

async function runRound(client: pg.Client, pid: number): Promise<Round> {
  const chunk = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ task: 'noop', payload: { i } })));
  const wal = await walBytes(client);
  let t = backendCpuUs(pid);
  for (let n = 0; n < JOBS; n += 1000) await client.query('select public.enqueue_jobs(jobs => $1::jsonb)', [chunk]);
  const enqueueUs = backendCpuUs(pid) - t;
  let claimUs = 0;
  let completeUs = 0;
  for (;;) {
    t = backendCpuUs(pid);
    const { rows } = await client.query<{ id: string }>("select id from public.claim_jobs(worker_id => 'row-cost', batch_size => 250, lease_seconds => 60)");
    claimUs += backendCpuUs(pid) - t;
    if (rows.length === 0) break;
    t = backendCpuUs(pid);
    await client.query("select 1 from public.complete_jobs(worker_id => 'row-cost', ids => $1::uuid[])", [rows.map((r) => r.id)]);
    completeUs += backendCpuUs(pid) - t;
  }
  return { enqueueUs: enqueueUs / JOBS, claimUs: claimUs / JOBS, completeUs: completeUs / JOBS, walBytes: ((await walBytes(client)) - wal) / JOBS };
}

const server = await openServer(process.env.BENCH_DATABASE_URL);
const results: { variant: string; enqueueUs: number; claimUs: number; completeUs: number; totalUs: number; walBytes: number; statsMs: number }[] = [];
const loadAtStart = loadAvg1m();
try {
  for (const variant of variants) {
    const url = await server.createDatabase(`row_cost_${variant.replaceAll('-', '_')}`);
    try {
      await migrate(url);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        if (VARIANTS[variant]) await client.query(VARIANTS[variant]);
        if (HISTORY > 0) {
          const started = hrMs();
          await addSupajobsHistory(url, HISTORY);
          await client.query('vacuum analyze public.jobs, public.job_events');
          console.error(`# ${variant}: ${HISTORY} completed jobs of history added in ${((hrMs() - started) / 1000).toFixed(0)} s`);
        }
        const statsMs: number[] = [];
        for (let i = 0; i < 20; i++) {
          const started = hrMs();
          await client.query('select * from public.get_queue_stats()');
          statsMs.push(hrMs() - started);
        }
        const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid ?? 0;
        // A warm-up round (plans, caches), not counted.
        await runRound(client, pid);
        await client.query('vacuum analyze public.jobs');
        const rounds: Round[] = [];
        for (let r = 0; r < ROUNDS; r++) rounds.push(await runRound(client, pid));
        const pick = (f: (r: Round) => number) => round(median(rounds.map(f)), 1) ?? 0;
        const row = { variant, enqueueUs: pick((r) => r.enqueueUs), claimUs: pick((r) => r.claimUs), completeUs: pick((r) => r.completeUs), totalUs: 0, walBytes: round(median(rounds.map((r) => r.walBytes)), 0) ?? 0, statsMs: round(median(statsMs), 2) ?? 0 };
        row.totalUs = round(row.enqueueUs + row.claimUs + row.completeUs, 1) ?? 0;
        results.push(row);
        console.error(`# ${variant}: ${JSON.stringify(row)} (load ${loadAvg1m()})`);
      } finally {
        await client.end();
      }
    } finally {
      await server.dropDatabase(url);
    }
  }
} finally {
  await server.stop();
}

console.log(`PostgreSQL ${server.version} (${server.kind}), ${JOBS} jobs a round, median of ${ROUNDS}${HISTORY ? `, ${HISTORY} completed jobs of history` : ''}, load average ${loadAtStart} → ${loadAvg1m()}`);
console.log('');
console.log('| schema | enqueue µs/job | claim µs/job | complete µs/job | total µs/job | WAL bytes/job | get_queue_stats() ms |');
console.log('|---|--:|--:|--:|--:|--:|--:|');
for (const r of results) console.log(`| ${r.variant} | ${r.enqueueUs} | ${r.claimUs} | ${r.completeUs} | ${r.totalUs} | ${server.kind === 'embedded' ? r.walBytes : `(${r.walBytes}, shared server)`} | ${r.statsMs} |`);
console.log(JSON.stringify({ postgres: server.version, server: server.kind, jobs: JOBS, rounds: ROUNDS, history: HISTORY, load1m: { atStart: loadAtStart, atEnd: loadAvg1m() }, results }));
