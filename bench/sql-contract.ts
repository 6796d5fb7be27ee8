/**
 * `npm run bench:sql`: raw throughput of the SQL contract, with no worker in between. For each
 * claim batch size: a fresh database, N no-op jobs enqueued through enqueue_jobs in chunks (one
 * connection), ANALYZE, then C connections each looping claim_jobs(batch) → complete_jobs(ids)
 * until the queue is empty.
 *
 *   npm run bench:sql -- [--jobs 50000] [--batches 100,500] [--connections 4] [--chunk 1000]
 *                        [--limits] [--other-queue-limited] [--named-queue] [--drop-index a,b] [--wal]
 *
 * --limits: the queue has set_queue_limits (max_running and max_per_second far above what the run
 * reaches), so every claim takes the limited path: its row lock, count and window.
 * --other-queue-limited: another queue has limits and the benchmark's has none, so its claims
 * read job_queues and go the plain path (what a queue without controls pays when others have them).
 * --named-queue: claims name the queue (queues => '{default}'), as a worker with QUEUES=default
 * does, instead of taking every queue; a claim for one limited queue alone waits for its turn.
 * --drop-index: drops these indexes of public.jobs after the migrations, to measure what they
 * cost the enqueue and the claim+complete loop (e.g. the listing indexes:
 * jobs_task_idx,jobs_queue_idx,jobs_cancelled_idx,jobs_waiting_idx).
 * --wal: after each batch size's run, the WAL one job costs, which a busy machine does not skew:
 * 10,000 more jobs enqueued, claimed and completed on one connection, each call under
 * EXPLAIN (ANALYZE, WAL) (this backend's own WAL; the server's position moves with other work).
 *
 * Runs on a fresh database on the server of BENCH_DATABASE_URL when set, else on an embedded
 * server started for the run. Progress goes to stderr; stdout has a Markdown table and, as its
 * last line, one JSON object with the figures and the machine.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/migrate.js';
import { hrMs } from './lib/clock.js';
import { loadAvg1m, machine } from './lib/report.js';
import { openServer } from './lib/server.js';
import { round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    batches: { type: 'string', default: '100,500' },
    connections: { type: 'string', default: '4' },
    chunk: { type: 'string', default: '1000' },
    limits: { type: 'boolean', default: false },
    'other-queue-limited': { type: 'boolean', default: false },
    'named-queue': { type: 'boolean', default: false },
    'drop-index': { type: 'string', default: '' },
    wal: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${value}`);
  return n;
}

const jobs = positive('jobs', flags.jobs);
const connections = positive('connections', flags.connections);
const chunk = positive('chunk', flags.chunk);
const batches = flags.batches.split(',').map((b) => positive('batches', b.trim()));
const droppedIndexes = flags['drop-index'].split(',').map((name) => name.trim()).filter(Boolean);
const LEASE_SECONDS = 60;

interface Run {
  batch: number;
  enqueueSeconds: number;
  enqueuePerSec: number;
  seconds: number;
  jobsPerSec: number;
  /** claim_jobs calls that returned jobs, over all connections. */
  claimCalls: number;
  /** With --wal: WAL per job of the enqueue and of the claim+complete (bytes, records, full-page images). */
  wal?: { enqueue: WalPerJob; claimComplete: WalPerJob };
}

interface WalPerJob {
  bytes: number;
  records: number;
  fpi: number;
}

const WAL_JOBS = 10_000;

/** The WAL of one statement run under EXPLAIN (ANALYZE, WAL), added to `into`. */
async function explainWal(client: pg.Client, into: WalPerJob, sql: string, values: unknown[]): Promise<void> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(`explain (analyze, wal, format json) ${sql}`, values);
  const top = rows[0]!['QUERY PLAN'][0].Plan;
  into.bytes += top['WAL Bytes'] ?? 0;
  into.records += top['WAL Records'] ?? 0;
  into.fpi += top['WAL FPI'] ?? 0;
}

/** WAL_JOBS jobs through enqueue_jobs, claim_jobs and complete_jobs on one connection, each call's WAL counted. */
async function walPerJob(url: string, batch: number): Promise<Run['wal']> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const enqueue: WalPerJob = { bytes: 0, records: 0, fpi: 0 };
  const claimComplete: WalPerJob = { bytes: 0, records: 0, fpi: 0 };
  try {
    await client.query('checkpoint').catch(() => undefined);
    for (let done = 0; done < WAL_JOBS; done += chunk) {
      const batchJson = JSON.stringify(Array.from({ length: Math.min(chunk, WAL_JOBS - done) }, () => ({ task: 'noop' })));
      await explainWal(client, enqueue, 'select count(*) from public.enqueue_jobs(jobs => $1::jsonb)', [batchJson]);
    }
    for (let done = 0; done < WAL_JOBS; ) {
      await explainWal(client, claimComplete, "select count(*) from public.claim_jobs(worker_id => 'wal', batch_size => $1, lease_seconds => 60)", [batch]);
      // EXPLAIN returns no rows: the claimed ids are read back (a read writes no WAL).
      const ids = (await client.query<{ id: string }>("select id from public.jobs where status = 'processing' and locked_by = 'wal'")).rows.map((r) => r.id);
      if (ids.length === 0) throw new Error('--wal: nothing left to claim');
      await explainWal(client, claimComplete, "select count(*) from public.complete_jobs(worker_id => 'wal', ids => $1)", [ids]);
      done += ids.length;
    }
  } finally {
    await client.end();
  }
  const perJob = (w: WalPerJob): WalPerJob => ({ bytes: Math.round(w.bytes / WAL_JOBS), records: round(w.records / WAL_JOBS, 2) as number, fpi: round(w.fpi / WAL_JOBS, 3) as number });
  return { enqueue: perJob(enqueue), claimComplete: perJob(claimComplete) };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function enqueueAll(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = hrMs();
    for (let done = 0; done < jobs; done += chunk) {
      const size = Math.min(chunk, jobs - done);
      const batch = JSON.stringify(Array.from({ length: size }, () => ({ task: 'noop' })));
      await client.query('select count(*) from public.enqueue_jobs(jobs => $1::jsonb)', [batch]);
    }
    const seconds = (hrMs() - started) / 1000;
    await client.query('analyze public.jobs');
    return seconds;
  } finally {
    await client.end();
  }
}

/** One connection's loop: claim a batch, complete it, until nothing is left to claim. */
async function drain(client: pg.Client, workerId: string, batch: number): Promise<{ completed: number; calls: number }> {
  let completed = 0;
  let calls = 0;
  for (;;) {
    const claimed = await client.query<{ id: string }>(
      'select id from public.claim_jobs(worker_id => $1, queues => $4, batch_size => $2, lease_seconds => $3)',
      [workerId, batch, LEASE_SECONDS, flags['named-queue'] ? ['default'] : null],
    );
    if (claimed.rows.length === 0) {
      // A limited queue's claim skips the queue while another connection holds it: done only
      // when nothing is left to claim.
      const left = await client.query("select exists (select 1 from public.jobs where status = 'pending') as left");
      if (!left.rows[0].left) return { completed, calls };
      continue;
    }
    calls++;
    const done = await client.query('select * from public.complete_jobs(worker_id => $1, ids => $2)', [
      workerId,
      claimed.rows.map((r) => r.id),
    ]);
    completed += done.rowCount ?? 0;
  }
}

/** Queue controls for --limits and --other-queue-limited (after the enqueue: it does not pay). */
async function configureControls(url: string): Promise<void> {
  const queue = flags.limits ? 'default' : flags['other-queue-limited'] ? 'elsewhere' : null;
  if (!queue) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select * from public.set_queue_limits($1, max_running => 1000000, max_per_second => 1000000)', [queue]);
  } finally {
    await client.end();
  }
}

async function dropIndexes(url: string): Promise<void> {
  if (droppedIndexes.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of droppedIndexes) await client.query(`drop index public.${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

async function runBatch(url: string, batch: number): Promise<Run> {
  await migrate(url);
  await dropIndexes(url);
  log(`batch ${batch}: enqueueing ${jobs} jobs in chunks of ${chunk}`);
  const enqueueSeconds = await enqueueAll(url);
  await configureControls(url);
  const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    log(`batch ${batch}: ${connections} connections claim and complete`);
    const started = hrMs();
    const results = await Promise.all(clients.map((c, i) => drain(c, `bench-${i}`, batch)));
    const seconds = (hrMs() - started) / 1000;
    const completed = results.reduce((sum, r) => sum + r.completed, 0);
    if (completed !== jobs) throw new Error(`batch ${batch}: ${completed} of ${jobs} jobs completed`);
    if (flags.wal) log(`batch ${batch}: WAL of ${WAL_JOBS} more jobs`);
    const wal = flags.wal ? await walPerJob(url, batch) : undefined;
    return {
      ...(wal ? { wal } : {}),
      batch,
      enqueueSeconds: round(enqueueSeconds, 3) as number,
      enqueuePerSec: Math.round(jobs / enqueueSeconds),
      seconds: round(seconds, 3) as number,
      jobsPerSec: Math.round(jobs / seconds),
      claimCalls: results.reduce((sum, r) => sum + r.calls, 0),
    };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

function table(runs: Run[]): string {
  const header = ['claim batch', 'connections', 'jobs', 'enqueue jobs/s', 'claim+complete s', 'claim+complete jobs/s'];
  const rows = runs.map((r) =>
    [r.batch, connections, jobs, r.enqueuePerSec, r.seconds.toFixed(2), r.jobsPerSec].map((v) =>
      typeof v === 'number' ? v.toLocaleString('en-US') : v,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)].join('\n');
}

const loadAtStart = loadAvg1m();
const server = await openServer(process.env.BENCH_DATABASE_URL || undefined);
log(`PostgreSQL ${server.version} (${server.kind}, ${server.address})`);
const runs: Run[] = [];
try {
  for (const batch of batches) {
    const url = await server.createDatabase(`sql_b${batch}`);
    try {
      runs.push(await runBatch(url, batch));
    } finally {
      await server.dropDatabase(url);
    }
  }
} finally {
  await server.stop();
}

const { nodeBaseline: _unused, ...host } = machine(server.version, { startMs: null, rssMB: null }, loadAtStart);
process.stdout.write(`${table(runs)}\n\n`);
for (const r of runs) {
  if (r.wal) process.stdout.write(`WAL per job, claim batch ${r.batch}: enqueue ${r.wal.enqueue.bytes} B (${r.wal.enqueue.records} records, ${r.wal.enqueue.fpi} full pages); claim+complete ${r.wal.claimComplete.bytes} B (${r.wal.claimComplete.records} records, ${r.wal.claimComplete.fpi} full pages)\n`);
}
process.stdout.write(
  `Enqueue: enqueue_jobs in chunks of ${chunk} on one connection. Claim+complete: each connection loops claim_jobs(batch) → complete_jobs(ids); lease ${LEASE_SECONDS} s. Claims name ${flags['named-queue'] ? "the queue ('default')" : 'no queue (every queue)'}. Queue controls: ${flags.limits ? 'the queue is limited (max_running and max_per_second 1,000,000)' : flags['other-queue-limited'] ? 'another queue is limited' : 'none'}. Indexes dropped: ${droppedIndexes.join(', ') || 'none'}. PostgreSQL ${server.version} (${server.kind}).\n\n`,
);
process.stdout.write(
  `${JSON.stringify({ benchmark: 'sql-contract', server: server.kind, limits: flags.limits, otherQueueLimited: flags['other-queue-limited'], namedQueue: flags['named-queue'], droppedIndexes, jobs, connections, enqueueChunk: chunk, runs, machine: host })}\n`,
);
