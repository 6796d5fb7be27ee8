import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { claim, enqueue, finishedCountsDrift, inTransaction, uniqueQueue, uniqueWorker } from './queue-sql.js';

const { pool } = await createTestDatabase();

interface StatsRow {
  queue: string;
  pending: string;
  scheduled: string;
  waiting: string;
  processing: string;
  completed: string;
  failed: string;
  cancelled: string;
  oldest_pending_age_seconds: number | null;
  success_rate: number | null;
}

test('get_queue_stats counts each queue by state (waiting for dependencies too), with the oldest ready age and the success rate', async () => {
  const [a, b, c] = [uniqueQueue('a'), uniqueQueue('b'), uniqueQueue('c')];
  const worker = uniqueWorker();
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const ids = await enqueue(pool, [
    // a: two ready (one waiting since 2001), one scheduled, and eight to move on below.
    { task: 't', queue: a, run_at: '2001-01-01T00:00:00Z', priority: -1 },
    { task: 't', queue: a, priority: -1 },
    { task: 't', queue: a, run_at: future },
    ...Array.from({ length: 8 }, () => ({ task: 't', queue: a })),
    // b: one ready job, and below one waiting for it.
    { task: 't', queue: b, run_at: '2010-06-01T00:00:00Z' },
    // c: only a scheduled job.
    { task: 't', queue: c, run_at: future },
  ]);
  await pool.query('select public.enqueue_flow(jobs => $1)', [JSON.stringify([{ task: 'w', queue: b, depends_on: [ids[11]] }])]);
  const claimed = await claim(pool, worker, { queues: [a], batchSize: 8 });
  assert.equal(claimed.length, 8);
  // The first of the eight stays processing.
  const [, c1, c2, c3, f1, x1, x2, x3] = claimed.map((j) => j.id);
  await pool.query('select * from public.complete_jobs(worker_id => $1, ids => $2)', [worker, [c1, c2, c3]]);
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E', retryable => false)", [f1, worker]);
  for (const id of [x1, x2, x3]) await pool.query('select public.cancel_job(id => $1)', [id]);
  assert.equal(ids.length, 13);

  const { stats, ages } = await inTransaction(pool, async (client) => {
    // Read-only, as PostgREST runs a STABLE function.
    await client.query('set transaction read only');
    const result = await client.query<StatsRow>('select * from public.get_queue_stats()');
    // now() is the same within the transaction, so the ages can be computed exactly.
    const expected = await client.query<{ a: number; b: number }>(
      "select extract(epoch from now() - '2001-01-01T00:00:00Z'::timestamptz)::float8 as a, extract(epoch from now() - '2010-06-01T00:00:00Z'::timestamptz)::float8 as b",
    );
    return { stats: result.rows, ages: expected.rows[0] as { a: number; b: number } };
  });
  const byQueue = new Map(stats.map((row) => [row.queue, row]));
  assert.deepEqual(byQueue.get(a), {
    queue: a,
    pending: '2',
    scheduled: '1',
    waiting: '0',
    processing: '1',
    completed: '3',
    failed: '1',
    cancelled: '3',
    oldest_pending_age_seconds: ages.a,
    success_rate: 0.75,
  });
  assert.deepEqual(byQueue.get(b), {
    queue: b,
    pending: '1',
    scheduled: '0',
    waiting: '1',
    processing: '0',
    completed: '0',
    failed: '0',
    cancelled: '0',
    oldest_pending_age_seconds: ages.b,
    success_rate: null,
  });
  assert.deepEqual(byQueue.get(c), {
    queue: c,
    pending: '0',
    scheduled: '1',
    waiting: '0',
    processing: '0',
    completed: '0',
    failed: '0',
    cancelled: '0',
    oldest_pending_age_seconds: null,
    success_rate: null,
  });
  // One row per queue, in queue order.
  const queues = stats.map((row) => row.queue);
  assert.deepEqual(queues, [...queues].sort());
  assert.equal(new Set(queues).size, queues.length);
});

test('a queue whose jobs were all purged has no row', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  await enqueue(pool, [{ task: 't', queue }]);
  const [job] = await claim(pool, worker, { queues: [queue] });
  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [job?.id, worker]);
  const before = await pool.query<StatsRow>('select * from public.get_queue_stats() where queue = $1', [queue]);
  assert.equal(before.rows[0]?.completed, '1');
  assert.equal(before.rows[0]?.success_rate, 1);
  await pool.query("update public.jobs set updated_at = now() - interval '2 days' where queue = $1", [queue]);
  await pool.query("select public.purge_jobs(older_than => '1 day')");
  const after = await pool.query<StatsRow>('select * from public.get_queue_stats() where queue = $1', [queue]);
  assert.deepEqual(after.rows, []);
});

test('finished jobs are counted as they change, by any writer: inserted, moved between queues, updated in place, deleted, rolled back', async () => {
  const [a, b] = [uniqueQueue('a'), uniqueQueue('b')];
  const count = async (queue: string) => {
    const { rows } = await pool.query<StatsRow>('select * from public.get_queue_stats() where queue = $1', [queue]);
    return rows[0] ? [rows[0].completed, rows[0].failed, rows[0].cancelled].join('/') : 'no row';
  };
  // A service-role import of finished jobs, in one statement.
  await pool.query(
    `insert into public.jobs (task, queue, status, completed_at, failed_at)
     select 't', $1, s, case s when 'completed' then now() end, case s when 'failed' then now() end
     from unnest(array['completed', 'completed', 'failed', 'cancelled', 'pending']) s`,
    [a],
  );
  assert.equal(await count(a), '2/1/1');
  // Moved to another queue, cancelled jobs made completed, a finished row updated in place.
  await pool.query("update public.jobs set queue = $2 where queue = $1 and status = 'failed'", [a, b]);
  await pool.query("update public.jobs set status = 'completed', completed_at = now() where queue = $1 and status = 'cancelled'", [a]);
  await pool.query("update public.jobs set result = '1' where queue = $1 and status = 'completed'", [a]);
  assert.equal(await count(a), '3/0/0');
  assert.equal(await count(b), '0/1/0');
  // A change rolled back takes its counts with it.
  await inTransaction(pool, async (client) => {
    await client.query("update public.jobs set status = 'cancelled', completed_at = null where queue = $1", [a]);
    await client.query('select 1/0').catch(() => undefined);
  }).catch(() => undefined);
  assert.equal(await count(a), '3/0/0');
  // Deleted by the service role: the finished ones leave the counts.
  await pool.query("delete from public.jobs where queue = $1 and status = 'completed'", [a]);
  assert.equal(await count(a), '0/0/0');
  assert.deepEqual(await finishedCountsDrift(pool), []);
});

test('truncating jobs empties the counts', async () => {
  // A database of its own: the truncate would take the other tests' jobs.
  const db = await createTestDatabase();
  await enqueue(db.pool, [{ task: 't', queue: uniqueQueue() }]);
  await db.pool.query("update public.jobs set status = 'cancelled'");
  assert.equal((await db.pool.query('select * from public.get_queue_stats()')).rows.length, 1);
  await db.pool.query('truncate public.jobs cascade');
  assert.deepEqual((await db.pool.query('select * from public.get_queue_stats()')).rows, []);
  assert.deepEqual((await db.pool.query('select * from public.queue_finished_counts')).rows, []);
});
