import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import {
  assertNoInvalidRows,
  assertSqlState,
  claim,
  enqueue,
  enqueueOne,
  getEvents,
  getJob,
  uniqueQueue,
  uniqueWorker,
  type JobRow,
} from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

test('only pending jobs whose run_at is reached are claimed', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const [ready, , done, failed, cancelled] = await enqueue(pool, [
    { task: 'ready', queue, priority: -1 },
    { task: 'later', queue, run_at: new Date(Date.now() + 600_000).toISOString() },
    { task: 'done', queue, priority: 2 },
    { task: 'failed', queue, priority: 1 },
    { task: 'cancelled', queue },
  ]);
  // Move three of them to end states through the contract's own functions.
  for (const id of [done, failed]) {
    const [row] = await claim(pool, worker, { queues: [queue] });
    assert.equal(row?.id, id);
  }
  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [done, worker]);
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'X', retryable => false)", [failed, worker]);
  await pool.query('select public.cancel_job(id => $1)', [cancelled]);

  const claimed = await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 10 });
  assert.deepEqual(claimed.map((j) => j.id), [ready]);
  // And a processing job is not claimed twice.
  assert.deepEqual(await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 10 }), []);
});

test('claims in order of priority (highest first), then run_at, then created_at', async () => {
  const queue = uniqueQueue();
  const ids = await enqueue(pool, [
    { task: 'p0-late', queue, priority: 0, run_at: '2020-01-01T00:00:02Z' },
    { task: 'p5', queue, priority: 5, run_at: '2020-01-01T00:00:09Z' },
    { task: 'p0-early-created-second', queue, priority: 0, run_at: '2020-01-01T00:00:01Z' },
    { task: 'p0-early-created-first', queue, priority: 0, run_at: '2020-01-01T00:00:01Z' },
    { task: 'p-3', queue, priority: -3, run_at: '2019-01-01T00:00:00Z' },
    { task: 'p10', queue, priority: 10, run_at: '2020-01-01T00:00:05Z' },
  ]);
  // One statement gives one created_at: set the tie-breaker apart by hand.
  await pool.query("update public.jobs set created_at = created_at - interval '1 second' where id = $1", [ids[3]]);
  const expected = ['p10', 'p5', 'p0-early-created-first', 'p0-early-created-second', 'p0-late', 'p-3'];

  const batch = await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 3 });
  const rest: JobRow[] = [];
  for (;;) {
    const [row] = await claim(pool, uniqueWorker(), { queues: [queue] });
    if (!row) break;
    rest.push(row);
  }
  assert.deepEqual([...batch, ...rest].map((j) => j.task), expected);
});

test('the queues filter claims only from the queues named; null means every queue', async () => {
  const [a, b, c] = [uniqueQueue('a'), uniqueQueue('b'), uniqueQueue('c')];
  await enqueue(pool, [{ task: 't', queue: a }, { task: 't', queue: b }, { task: 't', queue: c }]);
  const fromAb = await claim(pool, uniqueWorker(), { queues: [a, b], batchSize: 10 });
  assert.deepEqual(fromAb.map((j) => j.queue).sort(), [a, b].sort());
  assert.deepEqual(await claim(pool, uniqueWorker(), { queues: [], batchSize: 10 }), []);
  const anyQueue = await claim(pool, uniqueWorker(), { queues: null, batchSize: 1000 });
  assert.ok(anyQueue.some((j) => j.queue === c));
});

test('a claim sets processing, counts the attempt, and records worker, lease and start', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  const [row] = await claim(pool, worker, { queues: [queue], leaseSeconds: 45 });
  assert.ok(row);
  const stored = await getJob(pool, id);
  assert.deepEqual(row, stored, 'claim_jobs returns the updated row');
  assert.equal(stored.status, 'processing');
  assert.equal(stored.attempts, 1);
  assert.equal(stored.locked_by, worker);
  assert.ok(stored.started_at && stored.lease_expires_at);
  assert.equal(stored.lease_expires_at.getTime() - stored.started_at.getTime(), 45_000);
  assert.equal(stored.updated_at.getTime(), stored.started_at.getTime());

  const events = await getEvents(pool, id);
  assert.deepEqual(
    events.map((e) => [e.event, e.from_status, e.to_status, e.attempt, e.worker_id]),
    [
      ['enqueued', null, 'pending', 0, null],
      ['processing', 'pending', 'processing', 1, worker],
    ],
  );
});

test('claim_next_job claims one job', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  await enqueue(pool, [{ task: 'low', queue }, { task: 'high', queue, priority: 3 }]);
  const { rows } = await pool.query<JobRow>(
    'select * from public.claim_next_job(worker_id => $1, queues => $2, lease_seconds => 5)',
    [worker, [queue]],
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.task, 'high');
  assert.equal(rows[0]?.locked_by, worker);
});

test('claim arguments are checked: 22023', async () => {
  const call = (worker: unknown, batch: unknown, lease: unknown) =>
    pool.query('select * from public.claim_jobs(worker_id => $1, batch_size => $2, lease_seconds => $3)', [worker, batch, lease]);
  await assertSqlState(call('', 1, 60), '22023', 'empty worker_id');
  await assertSqlState(call(null, 1, 60), '22023', 'null worker_id');
  await assertSqlState(call('w'.repeat(201), 1, 60), '22023', 'long worker_id');
  await assertSqlState(call('w', 0, 60), '22023', 'batch_size 0');
  await assertSqlState(call('w', 1001, 60), '22023', 'batch_size 1001');
  await assertSqlState(call('w', null, 60), '22023', 'batch_size null');
  await assertSqlState(call('w', 1, 0), '22023', 'lease 0');
  await assertSqlState(call('w', 1, 86401), '22023', 'lease over a day');
  await assertSqlState(call('w', 1, null), '22023', 'lease null');
  await assertSqlState(pool.query("select * from public.claim_next_job(worker_id => '')"), '22023', 'claim_next_job');
});

test('8 connections claiming 10,000 jobs concurrently claim each exactly once', async () => {
  const queue = uniqueQueue('race');
  const total = 10_000;
  for (let i = 0; i < total; i += 5_000) {
    await enqueue(pool, Array.from({ length: 5_000 }, (_, k) => ({ task: 'race', queue, payload: { n: i + k } })));
  }
  const clients = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      return client;
    }),
  );
  try {
    // Different batch sizes so that the claims overlap at different points of the index.
    const batchSizes = [1, 7, 25, 50, 64, 100, 33, 10];
    const perWorker = await Promise.all(
      clients.map(async (client, i) => {
        const worker = `racer-${i}`;
        const ids: string[] = [];
        for (;;) {
          const rows = await claim(client, worker, { queues: [queue], batchSize: batchSizes[i] });
          if (rows.length === 0) return ids;
          for (const row of rows) {
            assert.equal(row.locked_by, worker);
            ids.push(row.id);
          }
        }
      }),
    );
    const all = perWorker.flat();
    assert.equal(all.length, total, 'claims returned every job once');
    assert.equal(new Set(all).size, total, 'no job was claimed twice');
    assert.ok(perWorker.filter((ids) => ids.length > 0).length > 1, 'more than one connection claimed');

    const { rows } = await pool.query<{ status: string; attempts: number; n: number }>(
      'select status, attempts, count(*)::int as n from public.jobs where queue = $1 group by 1, 2',
      [queue],
    );
    assert.deepEqual(rows, [{ status: 'processing', attempts: 1, n: total }]);
    const owners = await pool.query<{ locked_by: string; n: number }>(
      'select locked_by, count(*)::int as n from public.jobs where queue = $1 group by 1 order by 1',
      [queue],
    );
    assert.deepEqual(
      owners.rows,
      perWorker.map((ids, i) => ({ locked_by: `racer-${i}`, n: ids.length })).filter((o) => o.n > 0),
    );
    const history = await pool.query<{ n: number }>(
      `select count(*)::int as n from public.job_events e join public.jobs j on j.id = e.job_id
        where j.queue = $1 and e.event = 'processing'`,
      [queue],
    );
    assert.equal(history.rows[0]?.n, total, 'one processing event per job');
    await assertNoInvalidRows(pool);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

test("a claim commits without waiting for the WAL flush, unless its transaction wrote before it", async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  await enqueue(pool, [{ task: 'a', queue }, { task: 'b', queue }]);
  const client = await pool.connect();
  try {
    const setting = async () => (await client.query<{ s: string }>("select current_setting('synchronous_commit') as s")).rows[0]?.s;
    // As a server with the default (the test server itself runs with it off).
    await client.query('set synchronous_commit = on');
    // A claim that is its transaction's first write: the transaction commits without the wait.
    await client.query('begin');
    await client.query('select id from public.claim_jobs($1, $2, 1)', [worker, [queue]]);
    assert.equal(await setting(), 'off');
    await client.query('commit');
    // Set for that transaction only.
    assert.equal(await setting(), 'on');
    // A caller's earlier write keeps the durability it asked for.
    await client.query('begin');
    await enqueueOne(client, { task: 'c', queue });
    await client.query('select id from public.claim_jobs($1, $2, 1)', [worker, [queue]]);
    assert.equal(await setting(), 'on');
    await client.query('rollback');
    // claim_next_job goes through claim_jobs.
    await client.query('begin');
    await client.query('select id from public.claim_next_job($1, $2)', [worker, [queue]]);
    assert.equal(await setting(), 'off');
    await client.query('commit');
  } finally {
    await client.query('reset synchronous_commit');
    client.release();
  }
});

test('a claim reads the claim index in order, also past the entries that claimed jobs left behind (auto_explain)', async () => {
  // A database of its own: the plan depends on the statistics of jobs, which other tests change.
  const own = await createTestDatabase();
  const worker = uniqueWorker();
  // Statistics from while the queue was empty, then 5,000 jobs claimed and completed: each leaves
  // a dead entry in jobs_claim_idx until VACUUM. The planner, expecting few pending jobs in a
  // larger index, would read every entry through a bitmap scan, on every call.
  await own.pool.query('analyze public.jobs');
  await own.pool.query("select public.enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 't')) from generate_series(1, 5000)))");
  const claimed: { id: string; attempts: number }[] = [];
  for (let i = 0; i < 5; i++) claimed.push(...(await own.pool.query('select id, attempts from public.claim_jobs($1, null, 1000)', [worker])).rows);
  assert.equal(claimed.length, 5000);
  await own.pool.query('select public.complete_jobs($1, $2::uuid[], null, $3::int[])', [worker, claimed.map((j) => j.id), claimed.map((j) => j.attempts)]);
  await enqueue(own.pool, [{ task: 'ready' }]);

  const client = await own.pool.connect();
  const plans: string[] = [];
  client.on('notice', (notice) => plans.push(notice.message ?? ''));
  try {
    await client.query("load 'auto_explain'");
    await client.query('set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set auto_explain.log_level = notice');
    // More calls than the plan cache's five custom plans, then the generic plan outright. Each in
    // a transaction rolled back, so that the ready job stays ready.
    for (const mode of ['auto', 'auto', 'auto', 'auto', 'auto', 'auto', 'auto', 'force_generic_plan', 'force_generic_plan']) {
      await client.query('begin');
      await client.query(`set local plan_cache_mode = ${mode}`);
      assert.equal((await client.query('select id from public.claim_jobs($1, null, 8)', [worker])).rowCount, 1);
      await client.query('rollback');
    }
  } finally {
    client.removeAllListeners('notice');
    client.release();
  }
  const claimPlans = plans.filter((p) => /from public\.jobs n/.test(p) && /skip locked/i.test(p));
  assert.equal(claimPlans.length, 9, `saw ${claimPlans.length} plans of the claim`);
  for (const plan of claimPlans) {
    assert.match(plan, /Index Scan using jobs_claim_idx/, plan);
    assert.doesNotMatch(plan, /Bitmap/, plan);
  }
});
