/**
 * `npm run bench:sql`: raw throughput of the SQL contract, with no worker in between. For each
 * claim batch size: a fresh database, N no-op jobs enqueued through enqueue_jobs in chunks (one
 * connection), ANALYZE, then C connections each looping claim_jobs(batch) → complete_jobs(ids)
 * until the queue is empty.
 *
 *   npm run bench:sql -- [--jobs 50000] [--batches 100,500] [--connections 4] [--chunk 1000]
 *                        [--limits] [--other-queue-limited] [--named-queue]
 *
 * --limits: the queue has set_queue_limits (max_running and max_per_second far above what the run
 * reaches), so every claim takes the limited path: its row lock, count and window.
 * --other-queue-limited: another queue has limits and the benchmark's has none, so its claims
 * read job_queues and go the plain path (what a queue without controls pays when others have them).
 * --named-queue: claims name the queue (queues => '{default}'), as a worker with QUEUES=default
 * does, instead of taking every queue; a claim for one limited queue alone waits for its turn.
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
const LEASE_SECONDS = 60;

interface Run {
  batch: number;
  enqueueSeconds: number;
  enqueuePerSec: number;
  seconds: number;
  jobsPerSec: number;
  /** claim_jobs calls that returned jobs, over all connections. */
  claimCalls: number;
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

async function runBatch(url: string, batch: number): Promise<Run> {
  await migrate(url);
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
    return {
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
process.stdout.write(
  `Enqueue: enqueue_jobs in chunks of ${chunk} on one connection. Claim+complete: each connection loops claim_jobs(batch) → complete_jobs(ids); lease ${LEASE_SECONDS} s. Claims name ${flags['named-queue'] ? "the queue ('default')" : 'no queue (every queue)'}. Queue controls: ${flags.limits ? 'the queue is limited (max_running and max_per_second 1,000,000)' : flags['other-queue-limited'] ? 'another queue is limited' : 'none'}. PostgreSQL ${server.version} (${server.kind}).\n\n`,
);
process.stdout.write(
  `${JSON.stringify({ benchmark: 'sql-contract', server: server.kind, limits: flags.limits, otherQueueLimited: flags['other-queue-limited'], namedQueue: flags['named-queue'], jobs, connections, enqueueChunk: chunk, runs, machine: host })}\n`,
);
