/** Lifecycle hooks: enqueued with the change by SQL (any writer, a dead worker), run by a worker. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineTask } from '../../../src/queue/task.js';
import type { HookEvent } from '../../../src/workflow/hooks.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitUntil } from '../../support/worker.js';
import { claimOne, enqueueOne, expireLeases, uniqueQueue, uniqueWorker } from '../sql/queue-sql.js';

test('each lifecycle change of a hooked task enqueues one hook job in its transaction; other changes none', async () => {
  const { pool } = await createTestDatabase();
  await pool.query("select register_job_hooks('hooked', '{retry_scheduled,dead_lettered,lease_expired,cancelled}')");
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const hooks = async (id: string) =>
    (await pool.query("select payload->>'event' as e from jobs where task = 'supajobs.hook' and payload->>'job_id' = $1 order by created_at, e", [id])).rows.map((r) => r.e);
  // Hook jobs share their job's queue: kept out of this test's claims.
  const claim = async (w: string) => {
    await pool.query("update jobs set run_at = now() + interval '1 hour' where task = 'supajobs.hook' and status = 'pending'");
    return claimOne(pool, w, queue);
  };

  const retried = await enqueueOne(pool, { task: 'hooked', queue, max_attempts: 2, payload: { n: 1 } });
  await claim(worker);
  await pool.query("select fail_job($1, $2, 'E', 'boom')", [retried, worker]);
  assert.deepEqual(await hooks(retried), ['retry_scheduled']);
  await pool.query('update jobs set run_at = now() where id = $1', [retried]);
  await claim(worker);
  await pool.query("select fail_job($1, $2, 'E', 'boom again')", [retried, worker]);
  assert.deepEqual(await hooks(retried), ['retry_scheduled', 'dead_lettered']);
  const { rows } = await pool.query("select queue, payload from jobs where task = 'supajobs.hook' and payload->>'event' = 'dead_lettered'");
  assert.equal(rows[0].queue, queue);
  assert.deepEqual(
    { ...rows[0].payload, job_id: undefined },
    { task: 'hooked', event: 'dead_lettered', attempt: 2, error_code: 'E', last_error: 'boom again', stage: null, status: 'failed', payload: { n: 1 }, job_id: undefined },
  );

  // A worker that died: its lease expires and any caller's reclaim enqueues the hook.
  const [lost, lostForGood] = [await enqueueOne(pool, { task: 'hooked', queue }), await enqueueOne(pool, { task: 'hooked', queue, max_attempts: 1 })];
  await claim('dead-worker');
  await claim('dead-worker');
  await expireLeases(pool, [lost, lostForGood]);
  await pool.query('select reclaim_expired_jobs()');
  assert.deepEqual(await hooks(lost), ['lease_expired']);
  assert.deepEqual(await hooks(lostForGood), ['dead_lettered', 'lease_expired']);

  const cancelled = await enqueueOne(pool, { task: 'hooked', queue });
  await pool.query('select cancel_job($1)', [cancelled]);
  assert.deepEqual(await hooks(cancelled), ['cancelled']);

  // No hook: a release at shutdown, a completion, a task without hooks.
  const released = await enqueueOne(pool, { task: 'hooked', queue });
  await claim(worker);
  await pool.query("select release_jobs($1, array[$2::uuid])", [worker, released]);
  await claim(worker);
  await pool.query('select complete_job($1, $2)', [released, worker]);
  const plain = await enqueueOne(pool, { task: 'plain', queue, max_attempts: 1 });
  await claim(worker);
  await pool.query("select fail_job($1, $2, 'E')", [plain, worker]);
  assert.deepEqual(await hooks(released), []);
  assert.deepEqual(await hooks(plain), []);
  // An unhooked registration removes the row.
  await pool.query("select register_job_hooks('hooked', '{}')");
  assert.equal((await pool.query("select count(*)::int as n from job_hooks")).rows[0].n, 0);
});

test('a worker runs the hooks of its tasks, also for a job whose worker died', async () => {
  const db = await createTestDatabase();
  const seen: HookEvent[] = [];
  await startTestWorker(
    db,
    {
      fragile: defineTask<{ url: string }>({
        handler: () => Promise.reject(new Error('always')),
        hooks: {
          onDeadLettered: (event) => void seen.push(event),
          onLeaseExpired: (event) => void seen.push(event),
        },
      }),
    },
    { RECLAIM_INTERVAL_MS: '200', QUEUES: 'work' },
  );
  // Dead-lettered by this worker.
  const failed = (await db.pool.query(`select enqueue_job('fragile', '{"url": "a"}', 'work', max_attempts => 1) as id`)).rows[0].id;
  // Held by a worker that died: the running worker reclaims it, and the hook runs here.
  await db.pool.query(`select enqueue_job('fragile', '{"url": "b"}', 'elsewhere', max_attempts => 1)`);
  const [ghost] = (await db.pool.query("select id from claim_jobs('ghost', array['elsewhere'], 1, 1)")).rows;
  await db.pool.query("update jobs set queue = 'work' where id = $1", [ghost.id]);
  await waitUntil(() => seen.length >= 3);
  const summary = seen.map((e) => `${e.event}:${(e.payload as { url: string }).url}`).sort();
  assert.deepEqual(summary, ['dead_lettered:a', 'dead_lettered:b', 'lease_expired:b']);
  assert.equal(seen.find((e) => e.jobId === failed)?.errorCode, 'HANDLER_ERROR');
  const hookJobs = (await db.pool.query("select status from jobs where task = 'supajobs.hook'")).rows;
  await waitUntil(async () => (await db.pool.query("select count(*)::int as n from jobs where task = 'supajobs.hook' and status = 'completed'")).rows[0].n === 3);
  assert.equal(hookJobs.length, 3);
});
