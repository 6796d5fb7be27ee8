import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import {
  asRole,
  assertSqlState,
  claimOne,
  enqueueOne,
  getEvents,
  getJob,
  uniqueQueue,
  uniqueWorker,
  type JobRow,
} from './queue-sql.js';

const { pool } = await createTestDatabase();

type State = JobRow['status'];

/** A job of its own queue brought to the given state through the queue functions. */
async function jobIn(state: State, queue = uniqueQueue()): Promise<{ id: string; worker: string; queue: string }> {
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 3 });
  if (state === 'pending') return { id, worker, queue };
  await claimOne(pool, worker, queue);
  if (state === 'completed') await pool.query('select public.complete_job(id => $1, worker_id => $2)', [id, worker]);
  if (state === 'failed') {
    await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'DEAD', retryable => false)", [id, worker]);
  }
  if (state === 'cancelled') await pool.query('select public.cancel_job(id => $1)', [id]);
  assert.equal((await getJob(pool, id)).status, state);
  return { id, worker, queue };
}

async function call(sql: string, params: unknown[]): Promise<unknown> {
  const { rows } = await pool.query(sql, params);
  return rows[0]?.v;
}

test('retry_job runs a failed or cancelled job again with fresh attempts', async () => {
  for (const state of ['failed', 'cancelled'] as const) {
    const { id } = await jobIn(state);
    assert.equal(await call('select public.retry_job(id => $1) as v', [id]), true, state);
    const job = await getJob(pool, id);
    assert.equal(job.status, 'pending');
    assert.equal(job.attempts, 0);
    assert.equal(job.failed_at, null);
    assert.equal(job.locked_by, null);
    assert.equal(job.run_at.getTime(), job.updated_at.getTime(), 'ready at once');
    const last = (await getEvents(pool, id)).at(-1);
    assert.deepEqual(last && [last.event, last.from_status, last.to_status, last.attempt], ['pending', state, 'pending', 0]);
  }
});

test('retry_job leaves pending, processing and completed jobs alone', async () => {
  for (const state of ['pending', 'processing', 'completed'] as const) {
    const { id } = await jobIn(state);
    const before = await getJob(pool, id);
    assert.equal(await call('select public.retry_job(id => $1) as v', [id]), false, state);
    assert.deepEqual(await getJob(pool, id), before);
  }
  assert.equal(await call('select public.retry_job(id => $1) as v', [randomUUID()]), false);
});

test('retry_failed_jobs retries the failed jobs of one queue, or of every queue', async () => {
  const [a, b] = [uniqueQueue('a'), uniqueQueue('b')];
  const failedA = [await jobIn('failed', a), await jobIn('failed', a)];
  const failedB = await jobIn('failed', b);
  const cancelledA = await jobIn('cancelled', a);
  assert.equal(await call('select public.retry_failed_jobs(queue => $1) as v', [a]), 2);
  for (const { id } of failedA) assert.equal((await getJob(pool, id)).status, 'pending');
  assert.equal((await getJob(pool, failedB.id)).status, 'failed');
  assert.equal((await getJob(pool, cancelledA.id)).status, 'cancelled', 'only failed jobs');

  const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from public.jobs where status = 'failed'");
  assert.equal(await call('select public.retry_failed_jobs() as v', []), rows[0]?.n);
  assert.equal((await getJob(pool, failedB.id)).status, 'pending');
});

test('retry_failed_jobs keeps one live job per job_key; retry_job names the conflict', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const dead = async (key: string) => {
    const id = await enqueueOne(pool, { task: 't', queue, job_key: key, max_attempts: 1 });
    await claimOne(pool, worker, queue);
    await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E')", [id, worker]);
    return id;
  };
  // k1: failed, then enqueued again and now live. k2: failed twice, one after the other.
  const k1Failed = await dead('k1');
  const k1Live = await enqueueOne(pool, { task: 't', queue, job_key: 'k1', priority: -1 });
  const k2Older = await dead('k2');
  const k2Newer = await dead('k2');
  const plain = await dead('k3');
  await pool.query('update public.jobs set job_key = null where id = $1', [plain]);

  await assertSqlState(pool.query('select public.retry_job(id => $1)', [k1Failed]), '23505', 'retry_job of a held key');
  assert.equal(await call('select public.retry_failed_jobs(queue => $1) as v', [queue]), 2);
  const status = async (id: string) => (await getJob(pool, id)).status;
  assert.deepEqual(
    [await status(k1Failed), await status(k1Live), await status(k2Older), await status(k2Newer), await status(plain)],
    ['failed', 'pending', 'failed', 'pending', 'pending'],
  );
});

test('cancel_job cancels a pending job', async () => {
  const { id } = await jobIn('pending');
  assert.equal(await call('select public.cancel_job(id => $1) as v', [id]), true);
  assert.equal((await getJob(pool, id)).status, 'cancelled');
  assert.equal(await call('select public.cancel_job(id => $1) as v', [id]), false, 'not twice');
});

test('cancelling a processing job fences out its worker', async () => {
  const { id, worker } = await jobIn('processing');
  assert.equal(await call('select public.cancel_job(id => $1) as v', [id]), true);
  const cancelled = await getJob(pool, id);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal(cancelled.locked_by, null);
  assert.equal(cancelled.lease_expires_at, null);
  const last = (await getEvents(pool, id)).at(-1);
  assert.deepEqual(last && [last.from_status, last.to_status, last.worker_id], ['processing', 'cancelled', worker]);

  // The handler learns it at its next heartbeat; its outcome is refused.
  const heartbeat = await pool.query('select * from public.heartbeat_jobs(worker_id => $1, ids => $2)', [worker, [id]]);
  assert.deepEqual(heartbeat.rows, []);
  assert.equal(await call("select public.update_job_progress(id => $1, worker_id => $2, stage => 's') as v", [id, worker]), false);
  assert.equal(await call('select public.complete_job(id => $1, worker_id => $2) as v', [id, worker]), false);
  assert.equal(await call("select public.fail_job(id => $1, worker_id => $2, error_code => 'E') as v", [id, worker]), null);
  const release = await pool.query('select * from public.release_jobs(worker_id => $1, ids => $2)', [worker, [id]]);
  assert.deepEqual(release.rows, []);
  assert.deepEqual(await getJob(pool, id), cancelled);
});

test('cancel_job leaves finished jobs alone', async () => {
  for (const state of ['completed', 'failed'] as const) {
    const { id } = await jobIn(state);
    assert.equal(await call('select public.cancel_job(id => $1) as v', [id]), false, state);
    assert.equal((await getJob(pool, id)).status, state);
  }
});

async function age(ids: string[], interval: string): Promise<void> {
  await pool.query('update public.jobs set updated_at = now() - $2::interval where id = any ($1)', [ids, interval]);
}

async function exists(id: string): Promise<{ job: boolean; events: number }> {
  const { rows } = await pool.query<{ job: boolean; events: number }>(
    'select exists (select 1 from public.jobs where id = $1) as job, (select count(*)::int from public.job_events where job_id = $1) as events',
    [id],
  );
  return rows[0] as { job: boolean; events: number };
}

test('purge_jobs deletes old completed and cancelled jobs with their history, keeps the rest', async () => {
  const oldCompleted = await jobIn('completed');
  const oldCancelled = await jobIn('cancelled');
  const oldFailed = await jobIn('failed');
  const oldPending = await jobIn('pending');
  const oldProcessing = await jobIn('processing');
  const newCompleted = await jobIn('completed');
  await age([oldCompleted, oldCancelled, oldFailed, oldPending, oldProcessing].map((j) => j.id), '10 days');

  assert.equal(await call("select public.purge_jobs(older_than => '7 days') as v", []), 2);
  assert.deepEqual(await exists(oldCompleted.id), { job: false, events: 0 });
  assert.deepEqual(await exists(oldCancelled.id), { job: false, events: 0 });
  for (const kept of [oldFailed, oldPending, oldProcessing, newCompleted]) {
    assert.equal((await exists(kept.id)).job, true);
    assert.ok((await exists(kept.id)).events > 0);
  }

  // Dead letters go only when named.
  assert.equal(await call("select public.purge_jobs(older_than => '7 days', statuses => '{failed}') as v", []), 1);
  assert.deepEqual(await exists(oldFailed.id), { job: false, events: 0 });
  assert.equal((await exists(oldPending.id)).job, true);
  assert.equal((await exists(oldProcessing.id)).job, true);
});

test('purge_jobs works for service_role, which cannot delete history itself', async () => {
  const { id } = await jobIn('completed');
  await age([id], '2 days');
  await assertSqlState(
    asRole(pool, 'service_role', (client) => client.query('delete from public.job_events where job_id = $1', [id])),
    '42501',
  );
  const count = await asRole(pool, 'service_role', async (client) => {
    const { rows } = await client.query<{ v: number }>("select public.purge_jobs(older_than => '1 day') as v");
    return rows[0]?.v;
  });
  assert.ok((count ?? 0) >= 1);
  assert.deepEqual(await exists(id), { job: false, events: 0 });
});

test('purge_jobs checks its arguments: 22023', async () => {
  await assertSqlState(pool.query("select public.purge_jobs(older_than => '-1 day')"), '22023', 'negative');
  await assertSqlState(pool.query('select public.purge_jobs(older_than => null)'), '22023', 'null interval');
  await assertSqlState(pool.query("select public.purge_jobs(older_than => '1 day', statuses => '{pending}')"), '22023', 'pending');
  await assertSqlState(pool.query("select public.purge_jobs(older_than => '1 day', statuses => '{processing}')"), '22023', 'processing');
  await assertSqlState(pool.query("select public.purge_jobs(older_than => '1 day', statuses => '{completed,NULL}')"), '22023', 'a null status');
  await assertSqlState(pool.query("select public.purge_jobs(older_than => '1 day', statuses => null)"), '22023', 'null statuses');
});
