/**
 * `npm run bench:api`: every admin API call over HTTP on a table of N jobs (default 1,000,000),
 * each timed R times after a warm-up; the target is ≤ 50 ms per call.
 *
 *   npm run bench:api -- [--jobs 1000000] [--runs 20]
 *
 * The table: 97 % completed over the last 7 days (10 % of them in the last hour), 1 % failed,
 * 1 % pending, 0.4 % scheduled, 0.3 % cancelled, 0.3 % processing; 4 queues, 10 tasks and one rare
 * task (0.01 %); 10 % of the jobs in groups of 1,000. On a fresh database of BENCH_DATABASE_URL's
 * server when set, else an embedded server. stdout: a Markdown table, then one JSON line.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { registerAdmin } from '../src/admin/admin-server.js';
import { PostgresDriver } from '../src/drivers/postgres/driver.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { QueueClient } from '../src/queue/client.js';
import { hrMs } from './lib/clock.js';
import { loadAvg1m } from './lib/report.js';
import { openServer } from './lib/server.js';
import { median, quantile, round } from './lib/stats.js';

const { values: flags } = parseArgs({ options: { jobs: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '20' } } });
const jobs = Number(flags.jobs);
const runs = Number(flags.runs);
const log = (line: string) => process.stderr.write(`${line}\n`);

const server = await openServer(process.env.BENCH_DATABASE_URL);
const url = await server.createDatabase('operator_api');
await migrate(url);
const db = new pg.Client({ connectionString: url });
await db.connect();

log(`filling ${jobs} jobs`);
const filled = hrMs();
const CHUNK = 100_000;
for (let from = 0; from < jobs; from += CHUNK) {
  await db.query(`
    insert into public.jobs (task, queue, payload, status, run_at, attempts, group_key, created_at, started_at, completed_at, failed_at, error_code, last_error, updated_at)
    select case when n % 10000 = 0 then 'rare' else 't' || (n % 10) end,
           'q' || (n % 4),
           jsonb_build_object('n', n),
           s.status,
           case when s.status = 'pending' and n % 5 = 0 then now() + interval '1 hour' else t.at end,
           case when s.status = 'pending' then 0 else 1 end,
           case when n % 10 = 0 then 'group-' || (n / 10000) end,
           t.at, t.at,
           case when s.status = 'completed' then t.at + interval '1 second' end,
           case when s.status = 'failed' then t.at + interval '1 second' end,
           case when s.status = 'failed' then 'HANDLER_ERROR' end,
           case when s.status = 'failed' then 'boom' end,
           t.at
    from generate_series($1::bigint, $2::bigint) n
    cross join lateral (select case when n % 1000 < 10 then 'failed' when n % 1000 < 24 then 'pending'
                                    when n % 1000 < 27 then 'cancelled' when n % 1000 < 30 then 'processing'
                                    else 'completed' end as status) s
    cross join lateral (select now() - case when n % 10 = 0 then random() * interval '1 hour'
                                            else random() * interval '7 days' end as at) t`, [from, Math.min(from + CHUNK, jobs) - 1]);
  log(`  ${Math.min(from + CHUNK, jobs)}`);
}
await db.query("update public.jobs set locked_by = 'bench', lease_expires_at = now() + interval '1 day' where status = 'processing'");
await db.query('vacuum analyze public.jobs');
await db.query('vacuum analyze public.job_events');
log(`filled in ${round((hrMs() - filled) / 1000, 1)} s`);

const logger = createLogger({ level: 'warn', pretty: false });
const driver = new PostgresDriver({ connectionString: url, logger, poolSize: 4, listen: false });
await driver.start();
const client = new QueueClient(driver);
const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false } } });
const token = randomUUID();
await registerAdmin(app, { token, client: () => client, logger, streamIntervalMs: 1000 });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1`;

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

const pick = async (sql: string, n: number) => (await db.query<{ id: string }>(sql, [n])).rows.map((r) => r.id);
const failedIds = await pick("select id from jobs where status = 'failed' order by random() limit $1", runs + 3);
const pendingIds = await pick("select id from jobs where status = 'pending' order by random() limit $1", runs + 3);
const groupsWithFailed = (await db.query<{ g: string }>("select distinct group_key as g from jobs where status = 'failed' and group_key is not null limit $1", [2 * (runs + 3)])).rows.map((r) => r.g);
const anyId = failedIds[0] as string;
const deepCursor = await (async () => {
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) cursor = ((await call('GET', `/jobs?limit=100${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`)) as { nextCursor: string }).nextCursor;
  return cursor as string;
})();
const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
// Controls on two of the queues (the overview reads them too) and 20 schedules.
await db.query("select * from set_queue_limits('q1', max_running => 8)");
await db.query("select * from pause_queue('q4')");
for (let i = 0; i < 20; i++) await db.query("select * from schedule_job($1, '*/5 * * * *', 't1', timezone => 'Europe/Berlin')", [`bench-${i}`]);

const calls: [string, (i: number) => Promise<unknown>][] = [
  ['GET /queues', () => call('GET', '/queues')],
  ['GET /jobs (first page of 50)', () => call('GET', '/jobs')],
  ['GET /jobs (page 21, keyset)', () => call('GET', `/jobs?after=${encodeURIComponent(deepCursor)}`)],
  ['GET /jobs?status=failed', () => call('GET', '/jobs?status=failed')],
  ['GET /jobs?status=pending', () => call('GET', '/jobs?status=pending')],
  ['GET /jobs?queue=q2', () => call('GET', '/jobs?queue=q2')],
  ['GET /jobs?task=t7', () => call('GET', '/jobs?task=t7')],
  ['GET /jobs?task=rare (0.01 %)', () => call('GET', '/jobs?task=rare')],
  ['GET /jobs?group=group-7', () => call('GET', '/jobs?group=group-7')],
  ['GET /jobs?createdAfter=1h ago', () => call('GET', `/jobs?createdAfter=${encodeURIComponent(hourAgo)}`)],
  ['GET /jobs/:id', () => call('GET', `/jobs/${anyId}`)],
  ['GET /groups/:group', () => call('GET', '/groups/group-7')],
  ['GET /activity', () => call('GET', '/activity')],
  ['POST /jobs', () => call('POST', '/jobs', { task: 't1', queue: 'bench-new', payload: { n: 1 } })],
  ['POST /jobs/:id/retry', (i) => call('POST', `/jobs/${failedIds[i]}/retry`)],
  ['POST /jobs/:id/cancel', (i) => call('POST', `/jobs/${pendingIds[i]}/cancel`)],
  ['POST /jobs/retry {group}', (i) => call('POST', '/jobs/retry', { group: groupsWithFailed[i] })],
  ['POST /jobs/cancel {group}', (i) => call('POST', '/jobs/cancel', { group: groupsWithFailed[runs + 3 + i] ?? 'none' })],
  ['POST /queues/:queue/pause', () => call('POST', '/queues/q2/pause')],
  ['POST /queues/:queue/resume', () => call('POST', '/queues/q2/resume')],
  ['PUT /queues/:queue/limits', (i) => call('PUT', '/queues/q3/limits', { maxRunning: i + 1, maxPerSecond: null })],
  ['GET /schedules (20)', () => call('GET', '/schedules')],
  ['POST /schedules/:name/disable', (i) => call('POST', `/schedules/bench-${i % 20}/disable`)],
];

const results: { call: string; medianMs: number | null; p95Ms: number | null; maxMs: number | null }[] = [];
for (const [name, run] of calls) {
  for (let i = 0; i < 3; i++) await run(runs + i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = hrMs();
    await run(i);
    times.push(hrMs() - started);
  }
  results.push({ call: name, medianMs: round(median(times), 1), p95Ms: round(quantile(times, 0.95), 1), maxMs: round(Math.max(...times), 1) });
  log(`${name}: median ${round(median(times), 1)} ms`);
}

process.stdout.write(`| call (${jobs.toLocaleString('en')} jobs) | median ms | p95 ms | max ms |\n|---|---:|---:|---:|\n`);
for (const r of results) process.stdout.write(`| ${r.call} | ${r.medianMs} | ${r.p95Ms} | ${r.maxMs} |\n`);
process.stdout.write(`${JSON.stringify({ jobs, runs, postgres: server.version, load1m: loadAvg1m(), results })}\n`);

await app.close();
await driver.stop();
await db.end();
await server.dropDatabase(url);
await server.stop();
