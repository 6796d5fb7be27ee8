/** Stages and steps at the SQL contract, as any writer (psql, an Edge Function) meets them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { assertSqlState, claimOne, enqueueOne, expireLeases, getJob, uniqueQueue, uniqueWorker } from '../sql/queue-sql.js';

const { pool } = await createTestDatabase();
const one = async (sql: string, values: unknown[] = []) => (await pool.query(sql, values)).rows[0]?.v;

await pool.query(`select register_job_stages('scan', 'QUEUED',
  '{"QUEUED": ["FETCHING"], "FETCHING": ["ANALYZING", "QUEUED"], "ANALYZING": ["COMPLETED"]}', 'COMPLETED', 'FAILED', 'TIMED_OUT')`);

test('transition_job: a declared move bumps version; a stale version, an undeclared move and a stranger are refused', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 'scan', queue });
  await claimOne(pool, worker, queue);
  const moved = await one('select transition_job($1, $2, 0, $3, $4::jsonb) as v', [id, 'FETCHING', worker, '{"url": "u"}']);
  assert.deepEqual(moved, { stage: 'FETCHING', version: 1 });
  await assertSqlState(pool.query('select transition_job($1, $2, 0, $3)', [id, 'ANALYZING', worker]), 'SJ002', 'stale version');
  await assertSqlState(pool.query('select transition_job($1, $2, 1, $3)', [id, 'COMPLETED', worker]), 'SJ001', 'undeclared move');
  await assertSqlState(pool.query('select transition_job($1, $2, 1, $3)', [id, 'ANALYZING', 'someone-else']), 'SJ004', 'not the holder');
  const other = await enqueueOne(pool, { task: 'no-stages', queue });
  await assertSqlState(pool.query("select transition_job($1, 'A')", [other]), 'SJ003', 'no graph');
  const job = await getJob(pool, id);
  assert.equal(job.stage, 'FETCHING');
  assert.deepEqual(job.progress, { url: 'u' });
});

test('any writer is checked: a direct UPDATE of stage follows the graph and counts in version', async () => {
  const id = await enqueueOne(pool, { task: 'scan', queue: uniqueQueue() });
  await assertSqlState(pool.query("update jobs set stage = 'ANALYZING' where id = $1", [id]), 'SJ001');
  await pool.query("update jobs set stage = 'FETCHING' where id = $1", [id]);
  await pool.query("update jobs set stage = 'QUEUED' where id = $1", [id]);
  // Without a worker id, an operator's move only needs the graph (and the version, when given).
  await pool.query("select transition_job($1, 'FETCHING', 2)", [id]);
  assert.equal((await getJob(pool, id)).version, 3);
  // update_job_progress is a writer like any other.
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const held = await enqueueOne(pool, { task: 'scan', queue });
  await claimOne(pool, worker, queue);
  await assertSqlState(pool.query("select update_job_progress($1, $2, 'COMPLETED')", [held, worker]), 'SJ001');
});

test('a dead letter moves the job to its failure stage, a timeout or an expired lease to its timeout stage', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const [failed, timedOut, expired] = [
    await enqueueOne(pool, { task: 'scan', queue, max_attempts: 1 }),
    await enqueueOne(pool, { task: 'scan', queue, max_attempts: 1 }),
    await enqueueOne(pool, { task: 'scan', queue, max_attempts: 1 }),
  ];
  for (let i = 0; i < 3; i++) await claimOne(pool, worker, queue);
  await pool.query("select transition_job($1, 'FETCHING', worker_id => $2)", [failed, worker]);
  await pool.query("select fail_job($1, $2, 'BOOM', retryable => false)", [failed, worker]);
  await pool.query("select fail_job($1, $2, 'TIMEOUT')", [timedOut, worker]);
  await expireLeases(pool, [expired]);
  await pool.query('select reclaim_expired_jobs()');
  const stageOf = async (id: string) => {
    const j = await getJob(pool, id);
    return `${j.status}:${j.stage}:${j.version}`;
  };
  assert.equal(await stageOf(failed), 'failed:FAILED:2');
  assert.equal(await stageOf(timedOut), 'failed:TIMED_OUT:1');
  assert.equal(await stageOf(expired), 'failed:TIMED_OUT:1');
  // A retry scheduled is not a dead letter: the stage stays.
  const retried = await enqueueOne(pool, { task: 'scan', queue });
  await claimOne(pool, worker, queue);
  await pool.query("select transition_job($1, 'FETCHING', worker_id => $2)", [retried, worker]);
  await pool.query("select fail_job($1, $2, 'TIMEOUT')", [retried, worker]);
  assert.equal(await stageOf(retried), 'pending:FETCHING:1');
});

test('save_job_step is fenced by lease and attempt; a step keeps its first result; events hold its name only', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 'steps', queue });
  await claimOne(pool, worker, queue);
  const save = (w: string, attempt: number, name: string, value: unknown) =>
    one('select save_job_step($1, $2, $3, $4, $5::jsonb) as v', [id, w, attempt, name, JSON.stringify({ value })]);
  assert.equal(await save(worker, 2, 'a', 'wrong attempt'), false);
  assert.equal(await save('intruder', 1, 'a', 'not the holder'), false);
  assert.equal(await save(worker, 1, 'a', { secret: 'payload-data' }), true);
  assert.equal(await save(worker, 1, 'a', 'second write'), true);
  // The lease expires and another worker takes over: the first worker's saves change nothing.
  await expireLeases(pool, [id]);
  await pool.query('select reclaim_expired_jobs()');
  const next = uniqueWorker();
  await claimOne(pool, next, queue);
  assert.equal(await save(worker, 1, 'b', 'late'), false);
  assert.equal(await save(next, 2, 'b', 2), true);
  assert.deepEqual(await one('select get_job_steps($1) as v', [id]), { a: { value: { secret: 'payload-data' } }, b: { value: 2 } });
  const events = (await pool.query("select message from job_events where job_id = $1 and event = 'step' order by id", [id])).rows;
  assert.deepEqual(events.map((e) => e.message), ['step a completed', 'step b completed']);
  assert.ok(!JSON.stringify(events).includes('payload-data'));
  // Purging the job takes its steps with it.
  await pool.query("update jobs set status = 'cancelled', locked_by = null, updated_at = now() - interval '1 day' where id = $1", [id]);
  await pool.query("select purge_jobs(interval '1 hour')");
  assert.equal(await one('select count(*)::int as v from job_steps where job_id = $1', [id]), 0);
});

test('register_job_stages refuses a malformed graph with 22023', async () => {
  await assertSqlState(pool.query(`select register_job_stages('t', 'A', '["A"]')`), '22023');
  await assertSqlState(pool.query(`select register_job_stages('t', 'A', '{"A": "B"}')`), '22023');
  await assertSqlState(pool.query(`select register_job_stages('t', 'A', '{"A": ["B"]}', success_stage => 'Z')`), '22023');
});
