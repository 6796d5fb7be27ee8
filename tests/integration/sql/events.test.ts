import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import {
  asRole,
  assertSqlState,
  claim,
  claimOne,
  enqueue,
  enqueueOne,
  expireLeases,
  getEvents,
  makeReady,
  uniqueQueue,
  uniqueWorker,
  type EventRow,
} from './queue-sql.js';

const { pool } = await createTestDatabase();
const { rows: me } = await pool.query<{ name: string }>('select session_user as name');
const OWNER = me[0]?.name as string;

/** The fields of an event a test states, in a fixed order. */
function shape(e: EventRow) {
  return [e.event, e.from_status, e.to_status, e.stage, e.attempt, e.worker_id, e.actor, e.error_code, e.message];
}

test("a job's whole life is one history row per status or stage change", async () => {
  const queue = uniqueQueue();
  const [w1, w2, w3] = [uniqueWorker(), uniqueWorker(), uniqueWorker()];
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, w1, queue);
  const progress = (stage: string | null, data: unknown) =>
    pool.query('select public.update_job_progress(id => $1, worker_id => $2, stage => $3, progress => $4)', [id, w1, stage, JSON.stringify(data)]);
  await progress('download', { pct: 0 });
  await progress('download', { pct: 50 }); // same stage: no event
  await progress(null, { pct: 90 }); // stage kept: no event
  await pool.query('select * from public.heartbeat_jobs(worker_id => $1, ids => $2)', [w1, [id]]); // no event
  await progress('upload', {});
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'BOOM', error_message => 'disk full')", [id, w1]);
  await makeReady(pool, [id]);
  await claimOne(pool, w2, queue);
  await pool.query("select * from public.release_jobs(worker_id => $1, ids => $2, reason => 'shutting down')", [w2, [id]]);
  await claimOne(pool, w3, queue);
  await pool.query(`select public.complete_job(id => $1, worker_id => $2, result => '{"ok": true}')`, [id, w3]);

  assert.deepEqual((await getEvents(pool, id)).map(shape), [
    ['enqueued', null, 'pending', null, 0, null, OWNER, null, null],
    ['processing', 'pending', 'processing', null, 1, w1, OWNER, null, null],
    ['stage', 'processing', 'processing', 'download', 1, w1, OWNER, null, null],
    ['stage', 'processing', 'processing', 'upload', 1, w1, OWNER, null, null],
    ['pending', 'processing', 'pending', 'upload', 1, w1, OWNER, 'BOOM', 'disk full'],
    ['processing', 'pending', 'processing', 'upload', 2, w2, OWNER, null, null],
    // A release gives the attempt back: attempt is the job's count after the change.
    ['pending', 'processing', 'pending', 'upload', 1, w2, OWNER, 'RELEASED', 'shutting down'],
    ['processing', 'pending', 'processing', 'upload', 2, w3, OWNER, null, null],
    ['completed', 'processing', 'completed', 'upload', 2, w3, OWNER, null, null],
  ]);
});

test('cancel, lease loss, dead letter and retry each add one row', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const [cancelled, lost] = await enqueue(pool, [{ task: 't', queue, priority: 1, max_attempts: 1 }, { task: 't', queue, max_attempts: 1 }]);
  await claim(pool, worker, { queues: [queue], batchSize: 2 });
  await pool.query('select public.cancel_job(id => $1)', [cancelled]);
  await expireLeases(pool, [lost as string]);
  await pool.query('select public.reclaim_expired_jobs()');
  await pool.query('select public.retry_job(id => $1)', [lost]);

  assert.deepEqual((await getEvents(pool, cancelled as string)).slice(2).map(shape), [
    ['cancelled', 'processing', 'cancelled', null, 1, worker, OWNER, null, null],
  ]);
  assert.deepEqual((await getEvents(pool, lost as string)).slice(2).map(shape), [
    ['failed', 'processing', 'failed', null, 1, worker, OWNER, 'LEASE_EXPIRED', `lease of worker ${worker} expired`],
    ['pending', 'failed', 'pending', null, 0, null, OWNER, null, null],
  ]);
});

test('batch calls add exactly one row per job they changed', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const ids = await enqueue(pool, Array.from({ length: 50 }, () => ({ task: 't', queue })));
  await claim(pool, worker, { queues: [queue], batchSize: 50 });
  // Completing the same ids twice over, and unknown ones: only the 50 real changes are recorded.
  await pool.query('select * from public.complete_jobs(worker_id => $1, ids => $2)', [worker, [...ids, ...ids, randomUUID()]]);
  const { rows } = await pool.query<{ event: string; n: number }>(
    'select e.event, count(*)::int as n from public.job_events e where e.job_id = any ($1) group by 1 order by 1',
    [ids],
  );
  assert.deepEqual(rows, [
    { event: 'completed', n: 50 },
    { event: 'enqueued', n: 50 },
    { event: 'processing', n: 50 },
  ]);
});

test('the actor is the role the request set', async () => {
  const queue = uniqueQueue();
  const id = await asRole(pool, 'service_role', (client) => enqueueOne(client, { task: 't', queue }));
  await asRole(pool, 'service_role', (client) => claimOne(client, 'w', queue));
  assert.deepEqual(
    (await getEvents(pool, id)).map((e) => [e.event, e.actor]),
    [
      ['enqueued', 'service_role'],
      ['processing', 'service_role'],
    ],
  );
});

test('history cannot be changed or deleted, not even by the owner, outside purge_jobs', async () => {
  const id = await enqueueOne(pool, { task: 't', queue: uniqueQueue() });
  await assertSqlState(pool.query("update public.job_events set message = 'rewritten' where job_id = $1", [id]), '42501', 'owner update');
  await assertSqlState(pool.query('delete from public.job_events where job_id = $1', [id]), '42501', 'owner delete');
  await assertSqlState(pool.query('truncate public.job_events'), '42501', 'owner truncate');
  for (const role of ['service_role', 'authenticated'] as const) {
    await assertSqlState(
      asRole(pool, role, (c) => c.query("update public.job_events set message = 'x' where job_id = $1", [id])),
      '42501',
      `${role} update`,
    );
    await assertSqlState(
      asRole(pool, role, (c) => c.query('delete from public.job_events where job_id = $1', [id])),
      '42501',
      `${role} delete`,
    );
    await assertSqlState(
      asRole(pool, role, (c) =>
        c.query("insert into public.job_events (job_id, queue, task, event, to_status, attempt) values ($1, 'q', 't', 'completed', 'completed', 1)", [id]),
      ),
      '42501',
      `${role} insert`,
    );
  }
  assert.equal((await getEvents(pool, id)).length, 1);
  assert.equal((await getEvents(pool, id))[0]?.message, null);
});
