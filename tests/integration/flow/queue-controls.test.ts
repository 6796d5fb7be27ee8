/**
 * Queue controls and concurrency keys with real workers: three in-process workers, each with
 * concurrency 10, on one database. What ran when is read back from the database (started_at,
 * completed_at) and sampled while the jobs run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs } from '../../support/worker.js';

const db = await createTestDatabase();
const { pool } = db;

const hold = async () => {
  await sleep(120);
  return 'done';
};
const env = {
  MAX_CONCURRENT_JOBS: '10',
  POLL_INTERVAL_MS: '2000',
  FLOW_CONTROL_POLL_MS: '50',
  CONTROL_SYNC_INTERVAL_MS: '200',
  SCHEDULER: 'false',
};
for (let i = 0; i < 3; i++) await startTestWorker(db, { hold, quick: () => 'ok' }, env);

async function enqueue(count: number, job: Record<string, unknown>): Promise<string[]> {
  const { rows } = await pool.query('select id from enqueue_jobs($1::jsonb)', [JSON.stringify(Array.from({ length: count }, () => job))]);
  return rows.map((r) => r.id as string);
}

/** Samples `sql` (one number) every 50 ms until the jobs are done; returns the largest value seen. */
async function sampleMax(sql: string, params: unknown[], ids: string[]): Promise<number> {
  let max = 0;
  let done = false;
  const finished = waitForJobs(db, ids, 60_000).finally(() => (done = true));
  while (!done) {
    const { rows } = await pool.query(sql, params);
    max = Math.max(max, Number(rows[0].n));
    await sleep(50);
  }
  await finished;
  return max;
}

/** The most of these jobs processing at one instant, from their recorded start and end. */
async function recordedOverlap(ids: string[]): Promise<number> {
  const { rows } = await pool.query('select started_at, completed_at from jobs where id = any($1::uuid[])', [ids]);
  const events = rows.flatMap((r) => [{ t: r.started_at.getTime(), d: 1 }, { t: r.completed_at.getTime(), d: -1 }]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

test('max_running = 2 across 3 workers × concurrency 10: never more than 2 processing', async () => {
  await pool.query("select * from set_queue_limits('limited', max_running => 2)");
  const ids = await enqueue(24, { task: 'hold', queue: 'limited' });
  const sampled = await sampleMax("select count(*) as n from jobs where queue = 'limited' and status = 'processing'", [], ids);
  assert.ok(sampled <= 2, `sampled ${sampled} processing`);
  assert.equal(await recordedOverlap(ids), 2, 'the recorded runs overlap at most 2 (and the limit was reached)');
});

test('a concurrency key with limit 1 never has two running; other keys run beside it', async () => {
  const a = await enqueue(8, { task: 'hold', queue: 'keyed', concurrency_key: 'user-a' });
  const b = await enqueue(8, { task: 'hold', queue: 'keyed', concurrency_key: 'user-b' });
  const sampled = await sampleMax(
    "select coalesce(max(n), 0) as n from (select count(*) as n from jobs where queue = 'keyed' and status = 'processing' group by concurrency_key) k",
    [], [...a, ...b]);
  assert.ok(sampled <= 1, `sampled ${sampled} running with one key`);
  assert.equal(await recordedOverlap(a), 1);
  assert.equal(await recordedOverlap(b), 1);
  assert.equal(await recordedOverlap([...a, ...b]), 2, 'the two keys ran side by side');
});

test('a paused queue claims nothing, and resumes at once', async () => {
  await pool.query("select * from pause_queue('paused')");
  const ids = await enqueue(5, { task: 'quick', queue: 'paused' });
  const other = await enqueue(5, { task: 'quick', queue: 'unpaused' });
  await waitForJobs(db, other);
  // The other queue's jobs ran meanwhile; these stayed pending through many claims.
  await sleep(500);
  const { rows } = await pool.query("select count(*) filter (where status = 'pending') as n, count(*) as total from jobs where id = any($1::uuid[])", [ids]);
  assert.equal(Number(rows[0].n), 5);
  const { rows: events } = await pool.query("select count(*) as n from job_events where job_id = any($1::uuid[]) and event = 'processing'", [ids]);
  assert.equal(Number(events[0].n), 0);
  await pool.query("select * from resume_queue('paused')");
  const done = await waitForJobs(db, ids);
  assert.ok([...done.values()].every((r) => r.status === 'completed'));
});

test('max_per_second = 5 over 10 s: no one-second span has more than 5 starts', async () => {
  await pool.query("select * from set_queue_limits('rated', max_per_second => 5)");
  const ids = await enqueue(50, { task: 'quick', queue: 'rated' });
  await waitForJobs(db, ids, 60_000);
  const { rows } = await pool.query<{ t: Date }>('select started_at as t from jobs where id = any($1::uuid[]) order by started_at', [ids]);
  const starts = rows.map((r) => r.t.getTime());
  let busiest = 0;
  for (const s of starts) busiest = Math.max(busiest, starts.filter((t) => t >= s && t < s + 1000).length);
  assert.ok(busiest <= 5, `${busiest} starts within one second`);
  assert.equal(busiest, 5, 'the limit was reached');
  // By calendar second, as a dashboard would count them.
  const perSecond = new Map<number, number>();
  for (const t of starts) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  assert.ok(Math.max(...perSecond.values()) <= 5);
});
