/**
 * `npm run bench:api`: every admin API call over HTTP on a table of N jobs (default 1,000,000),
 * each timed R times after a warm-up; the target is ≤ 50 ms per call. Then every combination of
 * the listing's filters (status, queue, task, group, created range), with common and with rare
 * values, first page and the next (keyset), each timed C times; and, where auto_explain can be
 * loaded (a superuser), the scans each query behind the API chose: a sequential scan of jobs or
 * job_events is reported.
 *
 *   npm run bench:api -- [--jobs 1000000] [--runs 20] [--combination-runs 5]
 *
 * The table: 97 % completed over the last 7 days (10 % of them in the last hour), 1 % failed,
 * 1 % pending, 0.4 % scheduled, 0.3 % cancelled, 0.2 % processing, 0.1 % waiting; 4 queues and
 * one rare queue (0.01 %), 10 tasks and one rare task (0.01 %); 10 % of the jobs in groups of
 * 1,000. On a fresh database of BENCH_DATABASE_URL's server when set, else an embedded server.
 * stdout: Markdown tables, then one JSON line.
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
import { filterArguments, type JobFilter } from '../src/queue/lookups.js';
import { hrMs } from './lib/clock.js';
import { describeScans, enablePlanNotices, scansOf, seqScansOfHistory, type Scan } from './lib/plan-check.js';
import { loadAvg1m } from './lib/report.js';
import { openServer } from './lib/server.js';
import { median, quantile, round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: { jobs: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '20' }, 'combination-runs': { type: 'string', default: '5' } },
});
const jobs = Number(flags.jobs);
const runs = Number(flags.runs);
const combinationRuns = Number(flags['combination-runs']);
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
           case when n % 10000 = 5 then 'rare-q' else 'q' || (n % 4) end,
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
                                    when n % 1000 < 27 then 'cancelled' when n % 1000 < 29 then 'processing'
                                    when n % 1000 < 30 then 'waiting' else 'completed' end as status) s
    cross join lateral (select now() - case when n % 10 = 0 then random() * interval '1 hour'
                                            else random() * interval '7 days' end as at) t`, [from, Math.min(from + CHUNK, jobs) - 1]);
  log(`  ${Math.min(from + CHUNK, jobs)}`);
}
await db.query("update public.jobs set locked_by = 'bench', lease_expires_at = now() + interval '1 day' where status = 'processing'");
// The jobs came in as rows, not through completions: the minute counters get what a fleet
// completing them would have left, every queue with all 60 minutes and 8 shards (the most rows).
await db.query(`
  insert into public.queue_minute_counts (queue, slot, shard, minute, completed, failed)
  select q.queue, (extract(epoch from m.minute)::bigint / 60 % 60)::smallint, s.shard, m.minute, q.per_minute / 8, q.per_minute / 800
  from (select queue, count(*)::integer / 60 as per_minute from public.jobs
        where status = 'completed' and completed_at > now() - interval '1 hour' group by queue) q
  cross join generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') m(minute)
  cross join generate_series(0, 7) s(shard)
  on conflict do nothing`);
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
let streamCursor = (await client.followEvents(null)).cursor;

const calls: [string, (i: number) => Promise<unknown>][] = [
  ['GET /queues', () => call('GET', '/queues')],
  ['GET /jobs (first page of 50)', () => call('GET', '/jobs')],
  ['GET /jobs (page 21, keyset)', () => call('GET', `/jobs?after=${encodeURIComponent(deepCursor)}`)],
  ['GET /jobs?status=failed', () => call('GET', '/jobs?status=failed')],
  ['GET /jobs?status=pending', () => call('GET', '/jobs?status=pending')],
  ['GET /jobs?status=cancelled', () => call('GET', '/jobs?status=cancelled')],
  ['GET /jobs?status=waiting', () => call('GET', '/jobs?status=waiting')],
  ['GET /jobs?status=processing', () => call('GET', '/jobs?status=processing')],
  ['GET /jobs?queue=q2', () => call('GET', '/jobs?queue=q2')],
  ['GET /jobs?queue=rare-q (0.01 %)', () => call('GET', '/jobs?queue=rare-q')],
  ['GET /jobs?queue=q1&task=t2 (no such job)', () => call('GET', '/jobs?queue=q1&task=t2')],
  ['GET /jobs?task=t7', () => call('GET', '/jobs?task=t7')],
  ['GET /jobs?task=rare (0.01 %)', () => call('GET', '/jobs?task=rare')],
  ['GET /jobs?group=group-7', () => call('GET', '/jobs?group=group-7')],
  ['GET /jobs?createdAfter=1h ago', () => call('GET', `/jobs?createdAfter=${encodeURIComponent(hourAgo)}`)],
  ['GET /jobs/:id', () => call('GET', `/jobs/${anyId}`)],
  ['GET /groups/:group', () => call('GET', '/groups/group-7')],
  ['GET /activity', () => call('GET', '/activity')],
  ['stream look (follow_job_events, SQL)', async () => (streamCursor = (await client.followEvents(streamCursor)).cursor)],
  ['stream start (follow_job_events, SQL)', () => client.followEvents(null)],
  ['POST /jobs', () => call('POST', '/jobs', { task: 't1', queue: 'bench-new', payload: { n: 1 } })],
  ['POST /jobs/:id/retry', (i) => call('POST', `/jobs/${failedIds[i]}/retry`)],
  ['POST /jobs/:id/cancel', (i) => call('POST', `/jobs/${pendingIds[i]}/cancel`)],
  ['POST /jobs/retry {group}', (i) => call('POST', '/jobs/retry', { group: groupsWithFailed[i] })],
  ['POST /jobs/cancel {group}', (i) => call('POST', '/jobs/cancel', { group: groupsWithFailed[runs + 3 + i] ?? 'none' })],
  ['POST /queues/:queue/pause', () => call('POST', '/queues/q2/pause')],
  ['POST /queues/:queue/resume', () => call('POST', '/queues/q2/resume')],
  ['PUT /queues/:queue/limits', (i) => call('PUT', '/queues/q3/limits', { maxRunning: i + 1, maxPerSecond: null })],
  // q4 stays paused, so its controls remain after its limits are lifted.
  ['DELETE /queues/:queue/limits', () => call('DELETE', '/queues/q4/limits')],
  ['GET /schedules (20)', () => call('GET', '/schedules')],
  ['POST /schedules/:name/disable', (i) => call('POST', `/schedules/bench-${i % 20}/disable`)],
  ['POST /schedules/:name/enable', (i) => call('POST', `/schedules/bench-${i % 20}/enable`)],
  ['GET /openapi.json', () => call('GET', '/openapi.json')],
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

// Every combination of the listing's filters, with common values and with rare ones: the first
// page and the next (keyset).
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const VALUES: Record<string, Record<string, string>> = {
  common: { status: 'completed', queue: 'q1', task: 't3', group: 'group-7', createdAfter: minutesAgo(2 * 24 * 60), createdBefore: minutesAgo(60) },
  rare: { status: 'cancelled', queue: 'rare-q', task: 'rare', group: 'group-42', createdAfter: minutesAgo(10), createdBefore: minutesAgo(0) },
};
const FIELDS = ['status', 'queue', 'task', 'group', 'created'] as const;
const combinations: { name: string; filter: JobFilter }[] = [];
for (const [kind, values] of Object.entries(VALUES)) {
  for (let mask = 1; mask < 1 << FIELDS.length; mask++) {
    const used = FIELDS.filter((_, i) => mask & (1 << i));
    const filter: Record<string, string> = {};
    for (const field of used) {
      if (field === 'created') Object.assign(filter, { createdAfter: values.createdAfter, createdBefore: values.createdBefore });
      else filter[field] = values[field] as string;
    }
    combinations.push({ name: `${kind}: ${used.join(' + ')}`, filter: filter as JobFilter });
  }
}
const planChecks = await enablePlanNotices(db);
if (!planChecks) log('auto_explain cannot be loaded here (not a superuser?): no plan check');
const listCall = (filter: JobFilter, after: string | null) => {
  const args = { ...filterArguments(filter), ...(after ? { after_cursor: after } : {}) };
  const names = Object.keys(args);
  return db.query(`select * from public.list_jobs(${names.map((n, i) => `${n} => $${i + 1}`).join(', ')})`, Object.values(args));
};
const combinationResults: { combination: string; rows: number; firstMs: number | null; nextMs: number | null; scans: string; seqScan: boolean }[] = [];
for (const { name, filter } of combinations) {
  const query = new URLSearchParams(filter as Record<string, string>).toString();
  const first = (await call('GET', `/jobs?${query}`)) as { jobs: unknown[]; nextCursor: string | null };
  const time = async (path: string) => {
    const times: number[] = [];
    for (let i = 0; i < combinationRuns; i++) {
      const started = hrMs();
      await call('GET', path);
      times.push(hrMs() - started);
    }
    return round(median(times), 1);
  };
  const firstMs = await time(`/jobs?${query}`);
  const nextMs = first.nextCursor ? await time(`/jobs?${query}&after=${encodeURIComponent(first.nextCursor)}`) : null;
  const scans: Scan[] = planChecks ? [...(await scansOf(db, () => listCall(filter, null))), ...(first.nextCursor ? await scansOf(db, () => listCall(filter, first.nextCursor)) : [])] : [];
  combinationResults.push({ combination: name, rows: first.jobs.length, firstMs, nextMs, scans: planChecks ? describeScans(scans) : 'not checked', seqScan: seqScansOfHistory(scans).length > 0 });
  log(`${name}: ${firstMs} / ${nextMs} ms`);
}

// The scans of every other query behind the API and the stream (writes rolled back).
const plans: { query: string; scans: string; seqScan: boolean }[] = [];
if (planChecks) {
  const checks: [string, string, unknown[]][] = [
    ['get_queue_overview()', 'select * from public.get_queue_overview()', []],
    ['get_job(id)', 'select public.get_job($1)', [anyId]],
    ['get_group_stats(group)', "select * from public.get_group_stats('group-7')", []],
    ['list_job_events(max_rows 50)', 'select * from public.list_job_events(max_rows => 50)', []],
    ['follow_job_events(cursor)', 'select public.follow_job_events($1::jsonb)', [JSON.stringify(streamCursor)]],
    ['enqueue_job', "select public.enqueue_job(task => 't1', queue => 'bench-new')", []],
    ['retry_job(id)', 'select public.retry_job($1)', [failedIds[0]]],
    ['cancel_job(id)', 'select public.cancel_job($1)', [pendingIds[0]]],
    ['retry_jobs(group)', 'select public.retry_jobs(group_key => $1)', [groupsWithFailed[0]]],
    ['cancel_jobs(group)', 'select public.cancel_jobs(group_key => $1)', [groupsWithFailed[0]]],
  ];
  for (const [query, sql, values] of checks) {
    await db.query('begin');
    const scans = await scansOf(db, () => db.query(sql, values));
    await db.query('rollback');
    plans.push({ query, scans: describeScans(scans), seqScan: seqScansOfHistory(scans).length > 0 });
  }
}

process.stdout.write(`| call (${jobs.toLocaleString('en')} jobs) | median ms | p95 ms | max ms |\n|---|---:|---:|---:|\n`);
for (const r of results) process.stdout.write(`| ${r.call} | ${r.medianMs} | ${r.p95Ms} | ${r.maxMs} |\n`);
const ms = (values: (number | null)[]) => values.filter((v): v is number => v !== null);
const allMedians = ms(combinationResults.flatMap((r) => [r.firstMs, r.nextMs]));
process.stdout.write(`\n${combinations.length} filter combinations, first page and next: median of ${combinationRuns} each; slowest ${round(Math.max(...allMedians), 1)} ms, ${allMedians.filter((m) => m > 50).length} over 50 ms; sequential scans of history: ${combinationResults.filter((r) => r.seqScan).length}\n\n`);
process.stdout.write('| filters | rows | first page ms | next page ms | scans |\n|---|---:|---:|---:|---|\n');
for (const r of combinationResults) process.stdout.write(`| ${r.combination} | ${r.rows} | ${r.firstMs} | ${r.nextMs ?? '-'} | ${r.scans} |\n`);
if (planChecks) {
  process.stdout.write('\n| query | scans |\n|---|---|\n');
  for (const p of plans) process.stdout.write(`| ${p.query} | ${p.scans} |\n`);
}
process.stdout.write(`${JSON.stringify({ jobs, runs, combinationRuns, postgres: server.version, load1m: loadAvg1m(), results, combinations: combinationResults, plans })}\n`);

await app.close();
await driver.stop();
await db.end();
await server.dropDatabase(url);
await server.stop();
