import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import {
  asRole,
  assertSqlState,
  claimOne,
  enqueue,
  enqueueOne,
  getEvents,
  getJob,
  getJobs,
  uniqueQueue,
  uniqueWorker,
} from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

async function jobCount(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from public.jobs');
  return rows[0]?.n ?? -1;
}

test('enqueue_job with only a task takes the defaults', async () => {
  const { rows } = await pool.query<{ id: string }>("select public.enqueue_job(task => 'send-email') as id");
  const id = rows[0]?.id as string;
  const job = await getJob(pool, id);
  assert.equal(job.task, 'send-email');
  assert.equal(job.queue, 'default');
  assert.deepEqual(job.payload, {});
  assert.equal(job.status, 'pending');
  assert.equal(job.priority, 0);
  assert.equal(job.attempts, 0);
  assert.equal(job.max_attempts, 5);
  assert.equal(job.job_key, null);
  assert.equal(job.user_id, null);
  assert.equal(job.backoff_base_seconds, null);
  assert.equal(job.backoff_max_seconds, null);
  assert.equal(job.locked_by, null);
  assert.equal(job.lease_expires_at, null);
  // Ready at once: run_at is the enqueueing transaction's now().
  assert.equal(job.run_at.getTime(), job.created_at.getTime());
  const events = await getEvents(pool, id);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.event, 'enqueued');
  assert.equal(events[0]?.to_status, 'pending');
});

test('enqueue_job stores every named argument', async () => {
  const queue = uniqueQueue();
  const userId = randomUUID();
  const { rows } = await pool.query<{ id: string }>(
    `select public.enqueue_job(task => 'resize', payload => '{"w": 10}', queue => $1, priority => 7,
       run_at => '2030-01-01T00:00:00Z', max_attempts => 9, job_key => 'img-1', user_id => $2,
       backoff_base_seconds => 0.5, backoff_max_seconds => 30) as id`,
    [queue, userId],
  );
  const job = await getJob(pool, rows[0]?.id as string);
  assert.deepEqual(
    {
      payload: job.payload,
      queue: job.queue,
      priority: job.priority,
      run_at: job.run_at.toISOString(),
      max_attempts: job.max_attempts,
      job_key: job.job_key,
      user_id: job.user_id,
      backoff_base_seconds: job.backoff_base_seconds,
      backoff_max_seconds: job.backoff_max_seconds,
    },
    {
      payload: { w: 10 },
      queue,
      priority: 7,
      run_at: '2030-01-01T00:00:00.000Z',
      max_attempts: 9,
      job_key: 'img-1',
      user_id: userId,
      backoff_base_seconds: 0.5,
      backoff_max_seconds: 30,
    },
  );
});

test('enqueue_jobs returns one id per element, in input order', async () => {
  const queue = uniqueQueue();
  const input = Array.from({ length: 200 }, (_, i) => ({ task: 'n', queue, payload: { i }, priority: (i * 7) % 11 }));
  const ids = await enqueue(pool, input);
  assert.equal(ids.length, 200);
  assert.equal(new Set(ids).size, 200);
  const jobs = await getJobs(pool, ids);
  assert.deepEqual(
    jobs.map((j) => (j.payload as { i: number }).i),
    input.map((j) => j.payload.i),
  );
  assert.deepEqual(await enqueue(pool, []), []);
  // A batch with a job_key anywhere takes the deduplicating path: the same order, every element answered.
  const mixed = input.map((job, i) => (i % 50 === 0 ? { ...job, job_key: `${queue}-k${i}` } : job));
  const mixedIds = await enqueue(pool, mixed);
  assert.equal(new Set(mixedIds).size, 200);
  assert.deepEqual(
    (await getJobs(pool, mixedIds)).map((j) => (j.payload as { i: number }).i),
    input.map((j) => j.payload.i),
  );
  const events = await pool.query<{ n: number }>("select count(*)::int as n from job_events where job_id = any ($1::uuid[]) and event = 'enqueued'", [[...ids, ...mixedIds]]);
  assert.equal(events.rows[0]?.n, 400, 'one enqueued event per job on either path');
});

test('a job_key returns the live job while it is pending or processing, a new job once it finished', async () => {
  const queue = uniqueQueue();
  const first = await enqueueOne(pool, { task: 'sync', queue, job_key: 'account-1', payload: { n: 1 } });
  const again = await enqueueOne(pool, { task: 'sync', queue, job_key: 'account-1', payload: { n: 2 } });
  assert.equal(again, first);
  // The live job is left as it was.
  assert.deepEqual((await getJob(pool, first)).payload, { n: 1 });

  const worker = uniqueWorker();
  await claimOne(pool, worker, queue);
  assert.equal(await enqueueOne(pool, { task: 'sync', queue, job_key: 'account-1' }), first);

  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [first, worker]);
  const next = await enqueueOne(pool, { task: 'sync', queue, job_key: 'account-1' });
  assert.notEqual(next, first);

  await pool.query('select public.cancel_job(id => $1)', [next]);
  const third = await enqueueOne(pool, { task: 'sync', queue, job_key: 'account-1' });
  assert.notEqual(third, next);
  assert.notEqual(third, first);

  // Only the pending/processing rows count: one live row per key.
  const { rows } = await pool.query<{ live: number }>(
    "select count(*)::int as live from public.jobs where job_key = 'account-1' and status in ('pending', 'processing')",
  );
  assert.equal(rows[0]?.live, 1);
  // A dedup adds no history.
  assert.equal((await getEvents(pool, first)).filter((e) => e.event === 'enqueued').length, 1);
});

test('a job_key repeated inside one batch gives one job and the same id', async () => {
  const queue = uniqueQueue();
  const ids = await enqueue(pool, [
    { task: 'a', queue, job_key: 'k', payload: { first: true } },
    { task: 'b', queue },
    { task: 'a', queue, job_key: 'k', payload: { first: false } },
  ]);
  assert.equal(ids[0], ids[2]);
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual((await getJob(pool, ids[0] as string)).payload, { first: true });
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from public.jobs where queue = $1', [queue]);
  assert.equal(rows[0]?.n, 2);
});

test('job_key dedup is per owner', async () => {
  const queue = uniqueQueue();
  const [alice, bob] = [randomUUID(), randomUUID()];
  const ids = await enqueue(pool, [
    { task: 't', queue, job_key: 'report', user_id: alice },
    { task: 't', queue, job_key: 'report', user_id: bob },
    { task: 't', queue, job_key: 'report' },
    { task: 't', queue, job_key: 'report', user_id: alice },
    { task: 't', queue, job_key: 'report' },
  ]);
  assert.equal(new Set(ids.slice(0, 3)).size, 3);
  assert.equal(ids[3], ids[0]);
  assert.equal(ids[4], ids[2]);
  assert.equal(await enqueueOne(pool, { task: 't', queue, job_key: 'report', user_id: bob }), ids[1]);
});

test('concurrent enqueues of one job_key agree on one job', async () => {
  const queue = uniqueQueue();
  const clients = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      return client;
    }),
  );
  try {
    const ids = await Promise.all(clients.map((c) => enqueueOne(c, { task: 't', queue, job_key: 'once' })));
    assert.equal(new Set(ids).size, 1);
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from public.jobs where queue = $1', [queue]);
    assert.equal(rows[0]?.n, 1);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

test('run_at is honoured: a future job waits, a past one is ready', async () => {
  const queue = uniqueQueue();
  const [future, past] = await enqueue(pool, [
    { task: 't', queue, run_at: new Date(Date.now() + 3_600_000).toISOString() },
    { task: 't', queue, run_at: '2001-02-03T04:05:06Z' },
  ]);
  assert.equal((await getJob(pool, past as string)).run_at.toISOString(), '2001-02-03T04:05:06.000Z');
  const worker = uniqueWorker();
  const claimed = await claimOne(pool, worker, queue);
  assert.equal(claimed.id, past);
  const { rows } = await pool.query('select * from public.claim_jobs(worker_id => $1, queues => $2, batch_size => 10)', [
    worker,
    [queue],
  ]);
  assert.deepEqual(rows, []);
  assert.equal((await getJob(pool, future as string)).status, 'pending');
});

test('invalid arguments raise 22023 and insert nothing', async () => {
  const valid = { task: 'ok' };
  const invalid: [string, unknown][] = [
    ['jobs not an array', { task: 'x' }],
    ['jobs null', null],
    ['an element not an object', [valid, 'task']],
    ['task missing', [valid, { payload: {} }]],
    ['task not a string', [valid, { task: 5 }]],
    ['task empty', [valid, { task: '' }]],
    ['task too long', [valid, { task: 'x'.repeat(201) }]],
    ['an unknown key', [valid, { task: 'x', status: 'completed' }]],
    ['queue empty', [valid, { task: 'x', queue: '' }]],
    ['queue not a string', [valid, { task: 'x', queue: ['a'] }]],
    ['priority out of range', [valid, { task: 'x', priority: 1001 }]],
    ['priority not an integer', [valid, { task: 'x', priority: 1.5 }]],
    ['priority a string', [valid, { task: 'x', priority: 'high' }]],
    ['max_attempts zero', [valid, { task: 'x', max_attempts: 0 }]],
    ['max_attempts too large', [valid, { task: 'x', max_attempts: 1001 }]],
    ['max_attempts beyond integer', [valid, { task: 'x', max_attempts: 2 ** 40 }]],
    ['job_key empty', [valid, { task: 'x', job_key: '' }]],
    ['job_key too long', [valid, { task: 'x', job_key: 'k'.repeat(513) }]],
    ['run_at not a string', [valid, { task: 'x', run_at: 12 }]],
    ['run_at infinite', [valid, { task: 'x', run_at: '-infinity' }]],
    ['user_id not a string', [valid, { task: 'x', user_id: 12 }]],
    ['negative backoff base', [valid, { task: 'x', backoff_base_seconds: -1 }]],
    ['huge backoff cap', [valid, { task: 'x', backoff_max_seconds: 1e300 }]],
  ];
  const before = await jobCount();
  for (const [what, jobs] of invalid) {
    await assertSqlState(pool.query('select * from public.enqueue_jobs(jobs => $1::jsonb)', [JSON.stringify(jobs)]), '22023', what);
  }
  await assertSqlState(pool.query('select public.enqueue_job(task => null)'), '22023', 'enqueue_job without task');
  await assertSqlState(pool.query("select public.enqueue_job(task => 'x', priority => -1001)"), '22023', 'enqueue_job priority');
  await assertSqlState(pool.query("select public.enqueue_job(task => 'x', queue => '')"), '22023', 'enqueue_job queue');
  await assertSqlState(pool.query("select public.enqueue_job(task => 'x', run_at => 'infinity')"), '22023', 'enqueue_job run_at');
  assert.equal(await jobCount(), before);
});

test('a run_at or user_id PostgreSQL cannot read raises its data exception and inserts nothing', async () => {
  const before = await jobCount();
  await assertSqlState(
    pool.query('select * from public.enqueue_jobs(jobs => $1::jsonb)', [JSON.stringify([{ task: 'ok' }, { task: 'x', run_at: 'soon' }])]),
    '22007',
  );
  await assertSqlState(
    pool.query('select * from public.enqueue_jobs(jobs => $1::jsonb)', [JSON.stringify([{ task: 'ok' }, { task: 'x', user_id: 'me' }])]),
    '22P02',
  );
  assert.equal(await jobCount(), before);
});

test('the table refuses an infinite run_at from any writer: 23514', async () => {
  await assertSqlState(pool.query("insert into public.jobs (task, run_at) values ('x', 'infinity')"), '23514');
  const id = await enqueueOne(pool, { task: 'x', queue: uniqueQueue() });
  await assertSqlState(pool.query("update public.jobs set run_at = '-infinity' where id = $1", [id]), '23514');
});

test('ids are made in time order (UUID version 7): enqueue_jobs, enqueue_job and an end user\'s insert', async () => {
  const task = `client-task-${randomUUID()}`;
  await pool.query('insert into public.job_client_tasks (task) values ($1)', [task]);
  const before = Date.now();
  const ids = await enqueue(pool, [{ task: 't' }, { task: 't' }]);
  ids.push(await enqueueOne(pool, { task: 't' }));
  ids.push(await asRole(pool, 'authenticated', async (c) => (await c.query('insert into public.jobs (task) values ($1) returning id', [task])).rows[0].id, randomUUID()));
  const after = Date.now();
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `${id} is a version 7 UUID`);
    // Its first 48 bits are the Unix time in milliseconds it was made at.
    const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    assert.ok(ms >= before - 1000 && ms <= after + 1000, `${id}: made at ${new Date(ms).toISOString()}`);
  }
  assert.equal(new Set(ids).size, ids.length);
});
