/**
 * Dependencies and queue controls together, through claim_jobs: a waiting job is never claimed
 * before its last dependency completes, a released job in a paused queue is not claimed either,
 * max_running holds for dependencies as for any job, and after the resume the chain completes.
 * First claim by claim, in SQL; then with two real workers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs } from '../../support/worker.js';
import { uniqueQueue } from '../sql/queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

const flow = async (jobs: unknown[]) => (await pool.query('select enqueue_flow($1::jsonb) as ids', [JSON.stringify(jobs)])).rows[0].ids as string[];
const claim = async (queues: string[] | null) =>
  (await pool.query('select id from claim_jobs($1, $2::text[], 10)', ['sql-worker', queues])).rows.map((r) => r.id as string);
const complete = async (id: string) => assert.equal((await pool.query("select complete_job($1, 'sql-worker') as ok", [id])).rows[0].ok, true);
const status = async (id: string) => {
  const { rows } = await pool.query('select status, dependencies_left from jobs where id = $1', [id]);
  return `${rows[0].status}:${rows[0].dependencies_left ?? '-'}`;
};
const claimsOf = async (ids: string[]) =>
  Number((await pool.query("select count(*) as n from job_events where job_id = any($1::uuid[]) and event = 'processing'", [ids])).rows[0].n);

/** Every dependency completed before its dependent started, by the database's own record. */
async function assertOrder(edges: [string, string][]) {
  for (const [dependency, dependent] of edges) {
    const { rows } = await pool.query('select id, status, started_at, completed_at from jobs where id = any($1::uuid[])', [[dependency, dependent]]);
    const by = new Map(rows.map((r) => [r.id as string, r]));
    assert.equal(by.get(dependency).status, 'completed');
    assert.equal(by.get(dependent).status, 'completed');
    assert.ok(by.get(dependency).completed_at <= by.get(dependent).started_at, `${dependency} completed before ${dependent} started`);
  }
}

test('claim by claim: waiting, max_running and a pause compose; the chain completes after the resume', async () => {
  const extract = uniqueQueue();
  const load = uniqueQueue();
  await pool.query('select * from set_queue_limits($1, max_running => 1)', [extract]);
  await pool.query('select * from pause_queue($1)', [load]);
  const [e1, e2, l, r] = await flow([
    { task: 'extract', queue: extract, ref: 'e1' },
    { task: 'extract', queue: extract, ref: 'e2' },
    { task: 'load', queue: load, ref: 'l', depends_on: ['e1', 'e2'] },
    { task: 'report', queue: extract, depends_on: ['l'] },
  ]) as [string, string, string, string];
  assert.deepEqual([await status(l), await status(r)], ['waiting:2', 'waiting:1']);

  // max_running 1: one extract at a time; the waiting jobs are not candidates at all.
  const [first, ...none] = await claim(null);
  assert.ok(first === e1 || first === e2);
  assert.deepEqual(none, []);
  assert.deepEqual(await claim(null), [], 'the extract queue is full');
  await complete(first);
  assert.equal(await status(l), 'waiting:1');
  const second = first === e1 ? e2 : e1;
  assert.deepEqual(await claim(null), [second]);
  await complete(second);

  // Released by its last dependency, into a paused queue: still not claimed, by any claim.
  assert.equal(await status(l), 'pending:0');
  assert.deepEqual(await claim(null), []);
  assert.deepEqual(await claim([load]), []);
  assert.deepEqual(await claim([load, extract]), []);
  assert.equal(await claimsOf([l, r]), 0);

  await pool.query('select * from resume_queue($1)', [load]);
  assert.deepEqual(await claim(null), [l]);
  assert.deepEqual(await claim(null), [], 'report waits for load, though its queue has a free slot');
  assert.equal(await status(r), 'waiting:1');
  await complete(l);
  assert.deepEqual(await claim(null), [r]);
  await complete(r);
  await assertOrder([[e1, l], [e2, l], [l, r]]);
  assert.equal(await claimsOf([e1, e2, l, r]), 4, 'each job claimed once');
});

test('two workers: a fan-in into a paused queue holds until the resume, then the chain completes in order', async () => {
  const extract = uniqueQueue();
  const load = uniqueQueue();
  await pool.query('select * from set_queue_limits($1, max_running => 1)', [extract]);
  await pool.query('select * from pause_queue($1)', [load]);
  const hold = async () => {
    await sleep(50);
    return 'ok';
  };
  const env = { MAX_CONCURRENT_JOBS: '4', POLL_INTERVAL_MS: '200', FLOW_CONTROL_POLL_MS: '50', CONTROL_SYNC_INTERVAL_MS: '200', SCHEDULER: 'false' };
  for (let i = 0; i < 2; i++) await startTestWorker(db, { extract: hold, load: hold, report: hold }, env);

  const children = Array.from({ length: 6 }, (_, i) => ({ task: 'extract', queue: extract, ref: `e${i}` }));
  const ids = await flow([
    ...children,
    { task: 'load', queue: load, ref: 'l', depends_on: children.map((c) => c.ref) },
    { task: 'report', queue: extract, depends_on: ['l'] },
  ]);
  const extracts = ids.slice(0, 6);
  const [l, r] = ids.slice(6) as [string, string];
  await waitForJobs(db, extracts);
  // The workers keep claiming (short claims retry every 50 ms while a queue is controlled).
  await sleep(600);
  assert.deepEqual([await status(l), await status(r)], ['pending:0', 'waiting:1']);
  assert.equal(await claimsOf([l, r]), 0, 'neither claimed while load is paused');
  const { rows } = await pool.query('select started_at, completed_at from jobs where id = any($1::uuid[]) order by started_at', [extracts]);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].started_at >= rows[i - 1].completed_at, 'max_running 1: the extracts ran one at a time');

  await pool.query('select * from resume_queue($1)', [load]);
  await waitForJobs(db, [l, r]);
  await assertOrder([...extracts.map((e) => [e, l] as [string, string]), [l, r]]);
  assert.equal(await claimsOf(ids), 8, 'each job claimed once');
});
