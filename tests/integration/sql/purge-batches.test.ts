/**
 * purge_jobs(older_than, statuses, batch_size): a batch deletes at most batch_size of the oldest
 * matching finished jobs with their history, through indexes only; batches take turns fleet-wide;
 * history stays append-only for everything else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { waitUntil } from '../../support/worker.js';
import { assertSqlState, claimOne, enqueueOne, getEvents, getJob, inTransaction, uniqueQueue, uniqueWorker } from './queue-sql.js';

const { pool } = await createTestDatabase();

type Status = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

/** A job brought to the status through the queue functions (so it has its real history), last changed `daysAgo`. */
async function jobIn(status: Status, daysAgo: number, queue = uniqueQueue()): Promise<string> {
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 1 });
  if (status !== 'pending') await claimOne(pool, worker, queue);
  if (status === 'completed') await pool.query('select public.complete_job(id => $1, worker_id => $2)', [id, worker]);
  if (status === 'failed') await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'DEAD', retryable => false)", [id, worker]);
  if (status === 'cancelled') await pool.query('select public.cancel_job(id => $1)', [id]);
  await pool.query("update public.jobs set updated_at = now() - make_interval(days => $2) where id = $1", [id, daysAgo]);
  return id;
}

async function batch(olderThan: string, statuses: string[], size: number): Promise<number | null> {
  const { rows } = await pool.query<{ n: number | null }>('select public.purge_jobs($1::interval, $2::text[], $3) as n', [olderThan, statuses, size]);
  return rows[0]?.n ?? null;
}

async function present(ids: string[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('select id from public.jobs where id = any ($1)', [ids]);
  return rows.map((r) => r.id).sort();
}

async function eventsOf(ids: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from public.job_events where job_id = any ($1)', [ids]);
  return rows[0]?.n ?? 0;
}

test('batches delete exactly the old finished jobs, oldest first, with their history, and leave the rest', async () => {
  const oldCompleted = [await jobIn('completed', 30), await jobIn('completed', 20), await jobIn('completed', 10)];
  const oldCancelled = await jobIn('cancelled', 15);
  const oldFailed = await jobIn('failed', 30);
  const kept = [await jobIn('pending', 30), await jobIn('processing', 30), await jobIn('completed', 1), await jobIn('cancelled', 0)];
  const all = [...oldCompleted, oldCancelled, oldFailed, ...kept];
  const historyBefore = await eventsOf(kept);
  assert.ok((await getEvents(pool, oldCompleted[0] as string)).length >= 3, 'a completed job has its history');

  // The oldest two of the three old completed jobs; cancelled ones after them (the order named).
  assert.equal(await batch('7 days', ['completed', 'cancelled'], 2), 2);
  assert.deepEqual(await present(oldCompleted), [oldCompleted[2] as string]);
  assert.equal(await eventsOf(oldCompleted.slice(0, 2)), 0);
  assert.equal(await batch('7 days', ['completed', 'cancelled'], 2), 2);
  // Fewer than a batch left: the caller's loop ends here.
  assert.equal(await batch('7 days', ['completed', 'cancelled'], 2), 0);
  assert.deepEqual(await present(all), [oldFailed, ...kept].sort());

  // Dead letters only when named.
  assert.equal(await batch('7 days', ['failed'], 100), 1);
  assert.deepEqual(await present(all), [...kept].sort());
  assert.equal(await eventsOf(kept), historyBefore, "the kept jobs' history is whole");
  assert.equal(await eventsOf([...oldCompleted, oldCancelled, oldFailed]), 0);
});

test('the one-statement form (no batch_size) still deletes everything old at once', async () => {
  const old = [await jobIn('completed', 10), await jobIn('completed', 9), await jobIn('cancelled', 8)];
  const recent = await jobIn('completed', 0);
  const { rows } = await pool.query<{ n: number }>("select public.purge_jobs(older_than => '7 days') as n");
  assert.ok((rows[0]?.n ?? 0) >= 3);
  assert.deepEqual(await present([...old, recent]), [recent]);
});

test('a job retried while a batch waits for it is checked again and left alone; the rest go', async () => {
  const retried = await jobIn('failed', 40);
  const other = await jobIn('failed', 39);
  let purging: Promise<number | null> | undefined;
  await inTransaction(pool, async (holder) => {
    assert.equal((await holder.query<{ ok: boolean }>('select public.retry_job($1) as ok', [retried])).rows[0]?.ok, true);
    purging = batch('30 days', ['failed'], 10);
    // The batch picked both (the retry is not committed) and now waits for the retried row.
    await waitUntil(async () => {
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%purge_jobs%'",
      );
      return rows[0]?.n === 1;
    });
  });
  assert.equal(await purging, 1);
  assert.deepEqual(await present([retried, other]), [retried]);
  assert.equal((await getJob(pool, retried)).status, 'pending');
  assert.ok((await eventsOf([retried])) > 0, 'its history stays');
});

test('one batch runs at a time: another batched call is answered null at once while one is open', async () => {
  const first = await jobIn('completed', 50);
  const second = await jobIn('completed', 50);
  await inTransaction(pool, async (other) => {
    const { rows } = await other.query<{ n: number }>("select public.purge_jobs('45 days', '{completed}', 1) as n");
    assert.equal(rows[0]?.n, 1);
    assert.equal(await batch('45 days', ['completed'], 1), null, 'busy while the first batch is uncommitted');
  });
  assert.equal(await batch('45 days', ['completed'], 1), 1, 'its turn once the first committed');
  assert.deepEqual(await present([first, second]), []);
});

test('history stays append-only around a batch: a delete after it in the same transaction is refused', async () => {
  const purged = await jobIn('completed', 60);
  const kept = await jobIn('completed', 0);
  await assertSqlState(
    inTransaction(pool, async (client) => {
      await client.query("select public.purge_jobs('55 days', '{completed}', 10)");
      await client.query('delete from public.job_events where job_id = $1', [kept]);
    }),
    '42501',
  );
  assert.deepEqual(await present([purged, kept]), [purged, kept].sort(), 'rolled back with the refused delete');
  assert.ok((await eventsOf([kept])) > 0);
});

test('batch_size is checked: 22023 below 1', async () => {
  await assertSqlState(pool.query("select public.purge_jobs('1 day', '{completed}', 0)"), '22023', 'zero');
  await assertSqlState(pool.query("select public.purge_jobs('1 day', '{completed}', -5)"), '22023', 'negative');
  await assertSqlState(pool.query("select public.purge_jobs('1 day', '{pending}', 10)"), '22023', 'pending');
});

test('every statement of a batch reads through an index, also once its plans are generic (auto_explain)', async () => {
  // Enough rows that a scan would cost more than the index: 60,000 old completed jobs, each with
  // its enqueue event (the insert trigger), plus pending ones that must not be touched. Each with
  // its own created_at, as real jobs have: with one for all, PostgreSQL 18 may read the ids through
  // a skip scan of jobs_created_idx, cheap only for that shape of data.
  await pool.query(`
    insert into public.jobs (task, queue, status, attempts, created_at, completed_at, updated_at)
    select 't', 'explain', 'completed', 1, now() - interval '91 days' + n * interval '1 second',
           now() - interval '90 days', now() - interval '90 days' + n * interval '1 second'
    from generate_series(1, 60000) n`);
  await pool.query("insert into public.jobs (task, queue) select 't', 'explain' from generate_series(1, 1000)");
  await pool.query('analyze public.jobs');
  await pool.query('analyze public.job_events');
  const plans = await inTransaction(pool, async (client) => {
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    await client.query("load 'auto_explain'");
    await client.query('set local auto_explain.log_min_duration = 0');
    await client.query('set local auto_explain.log_nested_statements = on');
    await client.query("set local auto_explain.log_level = 'notice'");
    // More calls than the plan cache's five custom plans, then the generic plans outright.
    for (let i = 0; i < 7; i++) assert.equal((await client.query("select public.purge_jobs('60 days', '{completed}', 100) as n")).rows[0].n, 100);
    await client.query('set local plan_cache_mode = force_generic_plan');
    for (let i = 0; i < 2; i++) assert.equal((await client.query("select public.purge_jobs('60 days', '{completed}', 100) as n")).rows[0].n, 100);
    return notices;
  });
  const batchPlans = plans.filter((p) => /from public\.jobs j|from public\.job_events e/i.test(p));
  assert.ok(batchPlans.length >= 9 * 3, `saw ${batchPlans.length} plans of the batch's statements`);
  for (const plan of batchPlans) {
    assert.doesNotMatch(plan, /Seq Scan on (jobs|job_events)/, plan);
    assert.match(plan, /Index Scan using (jobs_finished_idx|jobs_pkey|job_events_pkey)|Bitmap Index Scan on (jobs_pkey|job_events_pkey)/, plan);
  }
});
