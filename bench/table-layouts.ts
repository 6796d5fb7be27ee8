/**
 * `npm run bench:table-layouts`: what a job's rows cost PostgreSQL in three table layouts, without
 * the contract's functions, triggers or history: the question behind "a table of live jobs
 * updated in place" (docs/benchmarks.md, "What a job costs PostgreSQL"). Each layout gets a
 * scratch database with the migrations applied (for the shape of public.jobs), then rounds of N
 * jobs: inserts of 1,000 rows, claims of 250 (`FOR UPDATE SKIP LOCKED`, as claim_jobs) and their
 * completions, on one connection, timed as that backend's CPU (/proc: the server must run on this
 * machine).
 *
 *   npm run bench:table-layouts -- [--jobs 20000] [--rounds 3] [--fillfactor 50]
 *
 * Layouts:
 *   shipped-row         a copy of public.jobs with all its indexes and checks: claim and
 *                       completion are updates that change `status`, which the partial indexes
 *                       depend on, so neither is a HOT update
 *   in-place            public.jobs' columns with indexes only on columns that never change after
 *                       the insert (and --fillfactor), beside a small table of the live jobs that
 *                       holds the claim and lease indexes: the claim updates both, the completion
 *                       deletes the live row and updates the job in place (HOT)
 *   delete-on-complete  the shipped row, deleted on completion (graphile-worker's lifecycle;
 *                       nothing is kept)
 *
 * Runs on BENCH_DATABASE_URL when set, else on an embedded server started for the run. stdout has
 * a Markdown table and, last, one JSON line.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/migrate.js';
import { backendCpuUs } from './lib/backend-cpu.js';
import { loadAvg1m } from './lib/report.js';
import { openServer } from './lib/server.js';
import { median, round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    fillfactor: { type: 'string', default: '50' },
  },
});
const JOBS = Number(flags.jobs);
const ROUNDS = Number(flags.rounds);
const FILLFACTOR = Number(flags.fillfactor);
if (!Number.isInteger(JOBS) || JOBS < 1000 || !Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(FILLFACTOR) || FILLFACTOR < 10 || FILLFACTOR > 100) {
  throw new Error('--jobs must be an integer of at least 1000, --rounds a positive integer, --fillfactor 10 to 100');
}

const CLAIM_BATCH = 250;
const LEASE = "now() + interval '5 minutes'";
const CLAIM_SET = `status = 'processing', attempts = attempts + 1, locked_by = 'bench', lease_expires_at = ${LEASE}, started_at = now(), updated_at = now(), version = version + 1`;
const COMPLETE_SET = "status = 'completed', completed_at = now(), updated_at = now(), locked_by = null, lease_expires_at = null, version = version + 1";
const NEXT_PENDING = (table: string) =>
  `select id from ${table} where status = 'pending' and run_at <= now() order by priority desc, run_at, created_at limit ${CLAIM_BATCH} for update skip locked`;
const CLAIMED_COLUMNS = 'id, task, queue, payload, attempts, max_attempts, run_at, created_at';
const INSERT_ROWS = "insert into layout.jobs (id, task, queue, payload) select gen_random_uuid(), 'noop', 'default', jsonb_build_object('i', g) from generate_series(1, 1000) g";

interface Layout {
  schema: string;
  insert: string;
  claim: string;
  complete: string;
  /** Tables whose updates are counted (HOT share) and whose size is reported. */
  tables: string[];
}

const SHIPPED_ROW = 'create table layout.jobs (like public.jobs including all);';
const SHIPPED_CLAIM = `update layout.jobs set ${CLAIM_SET} where id = any (array(${NEXT_PENDING('layout.jobs')})) returning ${CLAIMED_COLUMNS}`;

const LAYOUTS: Record<string, Layout> = {
  'shipped-row': {
    schema: SHIPPED_ROW,
    insert: INSERT_ROWS,
    claim: SHIPPED_CLAIM,
    complete: `update layout.jobs set ${COMPLETE_SET} where id = any ($1::uuid[])`,
    tables: ['layout.jobs'],
  },
  'in-place': {
    schema: `
      create table layout.jobs (like public.jobs including defaults including constraints) with (fillfactor = ${FILLFACTOR});
      alter table layout.jobs add primary key (id);
      create index on layout.jobs (created_at desc, id desc);
      create index on layout.jobs (queue, task);
      create index on layout.jobs (task, created_at desc, id desc);
      create index on layout.jobs (user_id, created_at desc) where user_id is not null;
      create table layout.live (
        id uuid primary key, queue text not null, priority integer not null, run_at timestamptz not null,
        created_at timestamptz not null, status text not null default 'pending', lease_expires_at timestamptz
      );
      create index on layout.live (priority desc, run_at, created_at) include (queue) where status = 'pending';
      create index on layout.live (lease_expires_at) include (queue) where status = 'processing';`,
    insert: `with j as (${INSERT_ROWS} returning id, queue, priority, run_at, created_at)
      insert into layout.live (id, queue, priority, run_at, created_at) select * from j`,
    claim: `with c as (update layout.live set status = 'processing', lease_expires_at = ${LEASE}
        where id = any (array(${NEXT_PENDING('layout.live')})) returning id)
      update layout.jobs j set ${CLAIM_SET} from c where j.id = c.id returning ${CLAIMED_COLUMNS.split(', ').map((c) => `j.${c}`).join(', ')}`,
    complete: `with d as (delete from layout.live where id = any ($1::uuid[]) returning id)
      update layout.jobs set ${COMPLETE_SET} where id in (select id from d)`,
    tables: ['layout.jobs', 'layout.live'],
  },
  'delete-on-complete': {
    schema: SHIPPED_ROW,
    insert: INSERT_ROWS,
    claim: SHIPPED_CLAIM,
    complete: 'delete from layout.jobs where id = any ($1::uuid[])',
    tables: ['layout.jobs'],
  },
};

interface Round {
  insertUs: number;
  claimUs: number;
  completeUs: number;
  walBytes: number;
}

async function walLsn(client: pg.Client): Promise<number> {
  return Number((await client.query<{ b: string }>("select pg_current_wal_lsn() - '0/0'::pg_lsn as b")).rows[0]?.b);
}

async function runRound(client: pg.Client, pid: number, layout: Layout): Promise<Round> {
  const wal = await walLsn(client);
  let t = backendCpuUs(pid);
  for (let n = 0; n < JOBS; n += 1000) await client.query(layout.insert);
  const insertUs = backendCpuUs(pid) - t;
  let claimUs = 0;
  let completeUs = 0;
  for (;;) {
    t = backendCpuUs(pid);
    const { rows } = await client.query<{ id: string }>(layout.claim);
    claimUs += backendCpuUs(pid) - t;
    if (rows.length === 0) break;
    t = backendCpuUs(pid);
    await client.query(layout.complete, [rows.map((r) => r.id)]);
    completeUs += backendCpuUs(pid) - t;
  }
  return { insertUs: insertUs / JOBS, claimUs: claimUs / JOBS, completeUs: completeUs / JOBS, walBytes: ((await walLsn(client)) - wal) / JOBS };
}

const server = await openServer(process.env.BENCH_DATABASE_URL);
const loadAtStart = loadAvg1m();
const results: { layout: string; insertUs: number; claimUs: number; completeUs: number; claimCompleteUs: number; walBytes: number; hotShare: number; kbPer1000Jobs: number }[] = [];
interface Opened {
  name: string;
  layout: Layout;
  url: string;
  client: pg.Client;
  pid: number;
  rounds: Round[];
}
const opened: Opened[] = [];
try {
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    const url = await server.createDatabase(`table_layout_${name.replaceAll('-', '_')}`);
    const o: Opened = { name, layout, url, client: new pg.Client({ connectionString: url }), pid: 0, rounds: [] };
    opened.push(o);
    await migrate(url);
    await o.client.connect();
    await o.client.query(`create schema layout; ${layout.schema}`);
    o.pid = (await o.client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid ?? 0;
    await runRound(o.client, o.pid, layout); // warm-up: plans and caches
  }
  // Layouts take turns round by round, so that a machine whose speed drifts slows them alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (const o of opened) {
      await o.client.query(`vacuum analyze ${o.layout.tables.join(', ')}`);
      o.rounds.push(await runRound(o.client, o.pid, o.layout));
    }
  }
  // The statistics collector reports a backend's counts at its transaction's end, at most twice a second.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const { name, client, rounds } of opened) {
    const { rows } = await client.query<{ upd: string; hot: string; bytes: string }>(
      `select sum(n_tup_upd) as upd, sum(n_tup_hot_upd) as hot, sum(pg_table_size(relid)) as bytes
       from pg_stat_user_tables where schemaname = 'layout'`,
    );
    const stats = rows[0];
    const pick = (f: (r: Round) => number) => round(median(rounds.map(f)), 1) ?? 0;
    const row = {
      layout: name,
      insertUs: pick((r) => r.insertUs),
      claimUs: pick((r) => r.claimUs),
      completeUs: pick((r) => r.completeUs),
      claimCompleteUs: 0,
      walBytes: round(median(rounds.map((r) => r.walBytes)), 0) ?? 0,
      hotShare: Number(stats?.upd) > 0 ? (round((100 * Number(stats?.hot)) / Number(stats?.upd), 0) ?? 0) : 0,
      kbPer1000Jobs: round(Number(stats?.bytes) / 1024 / (((ROUNDS + 1) * JOBS) / 1000), 0) ?? 0,
    };
    row.claimCompleteUs = round(row.claimUs + row.completeUs, 1) ?? 0;
    results.push(row);
    console.error(`# ${name}: ${JSON.stringify(row)}`);
  }
} finally {
  for (const o of opened) {
    await o.client.end().catch(() => undefined);
    await server.dropDatabase(o.url);
  }
  await server.stop();
}

console.log(
  `PostgreSQL ${server.version} (${server.kind}), ${JOBS} jobs a round, median of ${ROUNDS}, fillfactor of in-place ${FILLFACTOR}, ` +
    `load average ${loadAtStart} → ${loadAvg1m()}`,
);
console.log('');
console.log('| layout | insert µs/job | claim µs/job | complete µs/job | claim + complete µs/job | HOT updates | WAL bytes/job | table kB per 1,000 jobs |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
for (const r of results) {
  const wal = server.kind === 'embedded' ? r.walBytes : `(${r.walBytes}, shared server)`;
  console.log(`| ${r.layout} | ${r.insertUs} | ${r.claimUs} | ${r.completeUs} | ${r.claimCompleteUs} | ${r.hotShare} % | ${wal} | ${r.kbPer1000Jobs} |`);
}
console.log(JSON.stringify({ postgres: server.version, server: server.kind, jobs: JOBS, rounds: ROUNDS, fillfactor: FILLFACTOR, load1m: { atStart: loadAtStart, atEnd: loadAvg1m() }, results }));
