import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import {
  assertNoInvalidRows,
  claim,
  claimOne,
  enqueue,
  enqueueOne,
  expireLeases,
  getEvents,
  getJob,
  uniqueQueue,
  uniqueWorker,
} from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

async function reclaim(client: pg.Pool | pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>('select public.reclaim_expired_jobs() as n');
  return rows[0]?.n as number;
}

async function connect(count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      return client;
    }),
  );
}

test('an expired lease goes back to pending, ready at once, with LEASE_EXPIRED', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker('dead');
  const [expired, alive] = await enqueue(pool, [{ task: 't', queue, priority: 1 }, { task: 't', queue }]);
  await claim(pool, worker, { queues: [queue], batchSize: 2 });
  await expireLeases(pool, [expired as string]);

  assert.equal(await reclaim(pool), 1);
  const job = await getJob(pool, expired as string);
  assert.equal(job.status, 'pending');
  assert.equal(job.attempts, 1, 'the lost attempt counts');
  assert.equal(job.locked_by, null);
  assert.equal(job.lease_expires_at, null);
  assert.equal(job.failed_at, null);
  assert.equal(job.error_code, 'LEASE_EXPIRED');
  assert.equal(job.last_error, `lease of worker ${worker} expired`);
  assert.equal(job.run_at.getTime(), job.updated_at.getTime(), 'run_at is the reclaim instant');
  const last = (await getEvents(pool, expired as string)).at(-1);
  assert.deepEqual(
    last && [last.event, last.from_status, last.to_status, last.attempt, last.worker_id, last.error_code],
    ['pending', 'processing', 'pending', 1, worker, 'LEASE_EXPIRED'],
  );
  // A lease still running is left alone.
  assert.equal((await getJob(pool, alive as string)).status, 'processing');
  assert.equal(await reclaim(pool), 0);
  // And the job is claimable again.
  assert.equal((await claimOne(pool, uniqueWorker(), queue)).id, expired);
});

test('an expired lease on the last attempt fails the job with LEASE_EXPIRED', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker('dead');
  const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 1 });
  await claimOne(pool, worker, queue);
  await expireLeases(pool, [id]);
  assert.equal(await reclaim(pool), 1);
  const job = await getJob(pool, id);
  assert.equal(job.status, 'failed');
  assert.ok(job.failed_at);
  assert.equal(job.error_code, 'LEASE_EXPIRED');
  assert.equal(job.locked_by, null);
  const last = (await getEvents(pool, id)).at(-1);
  assert.deepEqual(last && [last.event, last.from_status, last.error_code], ['failed', 'processing', 'LEASE_EXPIRED']);
});

test('a reclaim running in another transaction is skipped, not waited for', async () => {
  const queue = uniqueQueue();
  const ids = await enqueue(pool, Array.from({ length: 20 }, () => ({ task: 't', queue })));
  await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 20 });
  await expireLeases(pool, ids);
  const [holder, other] = await connect(2);
  assert.ok(holder && other);
  try {
    await holder.query('begin');
    assert.equal(await reclaim(holder), 20);
    // The holder's rows are locked until it commits: the other caller skips them at once.
    assert.equal(await reclaim(other), 0);
    await holder.query('commit');
    assert.equal(await reclaim(other), 0);
  } finally {
    await Promise.all([holder.end(), other.end()]);
  }
});

test('many concurrent callers reclaim each job once and their counts add up', async () => {
  const queue = uniqueQueue();
  const total = 2_000;
  // A third on their last attempt, to be failed rather than retried.
  const ids = await enqueue(
    pool,
    Array.from({ length: total }, (_, i) => ({ task: 't', queue, max_attempts: i % 3 === 0 ? 1 : 3 })),
  );
  for (let i = 0; i < 4; i++) await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 500 });
  await expireLeases(pool, ids);

  const clients = await connect(8);
  try {
    // Several rounds each, so that the callers overlap; whoever loses a row skips it.
    const counts = await Promise.all(
      clients.map(async (client) => {
        let sum = 0;
        for (let round = 0; round < 3; round++) sum += await reclaim(client);
        return sum;
      }),
    );
    assert.equal(counts.reduce((a, b) => a + b, 0), total);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }

  const { rows } = await pool.query<{ status: string; n: number }>(
    'select status, count(*)::int as n from public.jobs where queue = $1 group by 1 order by 1',
    [queue],
  );
  const lastAttempt = Math.ceil(total / 3);
  assert.deepEqual(rows, [
    { status: 'failed', n: lastAttempt },
    { status: 'pending', n: total - lastAttempt },
  ]);
  const history = await pool.query<{ n: number; jobs: number }>(
    `select count(*)::int as n, count(distinct e.job_id)::int as jobs
       from public.job_events e join public.jobs j on j.id = e.job_id
      where j.queue = $1 and e.error_code = 'LEASE_EXPIRED'`,
    [queue],
  );
  assert.deepEqual(history.rows[0], { n: total, jobs: total }, 'one reclaim event per job');
  await assertNoInvalidRows(pool);
});
