import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import {
  claimOne,
  enqueueOne,
  expireLeases,
  getEvents,
  getJob,
  uniqueQueue,
  uniqueWorker,
} from './queue-sql.js';

const { pool } = await createTestDatabase();

/** Every call a worker makes about a job it holds, with what each returns. */
async function workerCalls(db: pg.Pool, id: string, worker: string) {
  const one = async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows;
  return {
    heartbeat: (await one('select * from public.heartbeat_jobs(worker_id => $1, ids => $2)', [worker, [id]])).map((r) => r.heartbeat_jobs),
    progress: (await one("select public.update_job_progress(id => $1, worker_id => $2, stage => 'late', progress => '{}') as ok", [id, worker]))[0]?.ok,
    complete: (await one('select public.complete_job(id => $1, worker_id => $2) as ok', [id, worker]))[0]?.ok,
    completeBatch: (await one('select * from public.complete_jobs(worker_id => $1, ids => $2)', [worker, [id]])).map((r) => r.complete_jobs),
    fail: (await one("select public.fail_job(id => $1, worker_id => $2, error_code => 'LATE') as status", [id, worker]))[0]?.status,
    release: (await one('select * from public.release_jobs(worker_id => $1, ids => $2)', [worker, [id]])).map((r) => r.release_jobs),
  };
}

const REFUSED = { heartbeat: [], progress: false, complete: false, completeBatch: [], fail: null, release: [] };

test('after reclaim_expired_jobs the old worker is fenced out of every call', async () => {
  const queue = uniqueQueue();
  const stale = uniqueWorker('stale');
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, stale, queue);
  await expireLeases(pool, [id]);
  await pool.query('select public.reclaim_expired_jobs()');

  const reclaimed = await getJob(pool, id);
  assert.equal(reclaimed.status, 'pending');
  const eventsBefore = (await getEvents(pool, id)).length;
  assert.deepEqual(await workerCalls(pool, id, stale), REFUSED);
  assert.deepEqual(await getJob(pool, id), reclaimed, 'the pending job is untouched');
  assert.equal((await getEvents(pool, id)).length, eventsBefore, 'no history was written');

  // Another worker takes it: the stale worker is still refused, the new holder's lease stands.
  const fresh = uniqueWorker('fresh');
  await claimOne(pool, fresh, queue);
  const held = await getJob(pool, id);
  assert.deepEqual(await workerCalls(pool, id, stale), REFUSED);
  assert.deepEqual(await getJob(pool, id), held);
  const { rows } = await pool.query('select public.complete_job(id => $1, worker_id => $2) as ok', [id, fresh]);
  assert.equal(rows[0]?.ok, true);
});

test('a call naming an older attempt is refused, even from the same worker', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  const first = await claimOne(pool, worker, queue);
  assert.equal(first.attempts, 1);
  await expireLeases(pool, [id]);
  await pool.query('select public.reclaim_expired_jobs()');
  // The same worker claims it again (attempt 2) while its first handler still runs.
  const second = await claimOne(pool, worker, queue);
  assert.equal(second.attempts, 2);
  const held = await getJob(pool, id);

  const complete = await pool.query('select public.complete_job(id => $1, worker_id => $2, attempt => 1) as ok', [id, worker]);
  assert.equal(complete.rows[0]?.ok, false);
  const batch = await pool.query('select * from public.complete_jobs(worker_id => $1, ids => $2, attempts => $3)', [worker, [id], [1]]);
  assert.deepEqual(batch.rows, []);
  const fail = await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'OLD', attempt => 1) as status", [id, worker]);
  assert.equal(fail.rows[0]?.status, null);
  assert.deepEqual(await getJob(pool, id), held);

  // The current attempt is accepted.
  const done = await pool.query('select * from public.complete_jobs(worker_id => $1, ids => $2, attempts => $3)', [worker, [id], [2]]);
  assert.deepEqual(done.rows.map((r) => r.complete_jobs), [id]);
  assert.equal((await getJob(pool, id)).status, 'completed');
});

test('fail_job naming the current attempt applies; a finished job refuses a second outcome', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 1 });
  await claimOne(pool, worker, queue);
  const fail = await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E', attempt => 1) as status", [id, worker]);
  assert.equal(fail.rows[0]?.status, 'failed');
  const failed = await getJob(pool, id);
  assert.deepEqual(await workerCalls(pool, id, worker), REFUSED);
  assert.deepEqual(await getJob(pool, id), failed);
});

test('a completed job cannot be completed again or failed by its own worker', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, worker, queue);
  const { rows } = await pool.query(`select public.complete_job(id => $1, worker_id => $2, result => '{"n": 1}') as ok`, [id, worker]);
  assert.equal(rows[0]?.ok, true);
  const completed = await getJob(pool, id);
  assert.deepEqual(completed.result, { n: 1 });
  assert.deepEqual(await workerCalls(pool, id, worker), REFUSED);
  assert.deepEqual(await getJob(pool, id), completed);
  const events = await getEvents(pool, id);
  assert.equal(events.filter((e) => e.to_status === 'completed').length, 1, 'completed exactly once');
});

test('the holder keeps its lease: heartbeat extends it, progress and release apply', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, worker, queue, 10);
  const { rows } = await pool.query(
    'select ids, now() as now from (select array_agg(h) as ids from public.heartbeat_jobs(worker_id => $1, ids => $2, lease_seconds => 300) h) x',
    [worker, [id, '00000000-0000-0000-0000-000000000000']],
  );
  assert.deepEqual(rows[0]?.ids, [id]);
  const extended = await getJob(pool, id);
  assert.equal(extended.lease_expires_at?.getTime(), (rows[0]?.now as Date).getTime() + 300_000);

  const progress = await pool.query(
    `select public.update_job_progress(id => $1, worker_id => $2, stage => 'upload', progress => '{"pct": 40}') as ok`,
    [id, worker],
  );
  assert.equal(progress.rows[0]?.ok, true);
  const staged = await getJob(pool, id);
  assert.equal(staged.stage, 'upload');
  assert.deepEqual(staged.progress, { pct: 40 });
  // A progress call without a stage keeps the stage.
  await pool.query(`select public.update_job_progress(id => $1, worker_id => $2, progress => '{"pct": 80}')`, [id, worker]);
  assert.equal((await getJob(pool, id)).stage, 'upload');

  const released = await pool.query('select * from public.release_jobs(worker_id => $1, ids => $2)', [worker, [id]]);
  assert.deepEqual(released.rows.map((r) => r.release_jobs), [id]);
  const pending = await getJob(pool, id);
  assert.equal(pending.status, 'pending');
  assert.equal(pending.attempts, 0, 'a release does not count the attempt');
  assert.equal(pending.locked_by, null);
  assert.equal(pending.lease_expires_at, null);
  assert.equal(pending.error_code, 'RELEASED');
});

test('heartbeat_jobs checks lease_seconds: 22023', async () => {
  for (const lease of [0, 86401, null]) {
    await assert.rejects(
      pool.query("select * from public.heartbeat_jobs(worker_id => 'w', ids => '{}', lease_seconds => $1)", [lease]),
      (error: { code?: string }) => error.code === '22023',
    );
  }
});
