/** Dependencies and flows: enqueue_flow, the waiting state, release by the last dependency, settling. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { QueueClient } from '../../../src/queue/client.js';
import { createTestDatabase } from '../../support/database.js';
import { captureLogs } from '../../support/logs.js';
import { startTestWorker, waitForJobs } from '../../support/worker.js';
import { assertSqlState, uniqueQueue } from '../sql/queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;
const flow = async (jobs: unknown[]) => (await pool.query('select enqueue_flow($1::jsonb) as ids', [JSON.stringify(jobs)])).rows[0].ids as string[];
const state = async (id: string) => {
  const { rows } = await pool.query('select status, dependencies_left, error_code from jobs where id = $1', [id]);
  return `${rows[0].status}:${rows[0].dependencies_left ?? '-'}:${rows[0].error_code ?? '-'}`;
};
const claimAll = async (worker: string, queue: string) =>
  (await pool.query('select id from claim_jobs($1, array[$2], 1000)', [worker, queue])).rows.map((r) => r.id as string);

test('a parent waits for its children; the last completion releases it, also when siblings complete at once', async () => {
  for (let round = 0; round < 3; round++) {
    const queue = uniqueQueue();
    const children = Array.from({ length: 12 }, (_, i) => ({ task: 'child', queue, ref: `c${i}` }));
    const ids = await flow([...children, { task: 'parent', queue: `${queue}-parents`, depends_on: children.map((c) => c.ref) }]);
    const parent = ids[12] as string;
    assert.equal(await state(parent), 'waiting:12:-');
    assert.deepEqual((await claimAll('w', queue)).sort(), ids.slice(0, 12).sort());
    // Each completion in a transaction of its own, all at the same moment.
    const clients = await Promise.all(ids.slice(0, 12).map(async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }));
    try {
      await Promise.all(clients.map((c, i) => c.query('select complete_job($1, $2, $3::jsonb)', [ids[i], 'w', JSON.stringify(i)])));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    assert.equal(await state(parent), 'pending:0:-', `round ${round}`);
    const results = (await pool.query('select get_dependency_results($1) as r', [parent])).rows[0].r;
    assert.deepEqual(results.map((r: { result: number }) => r.result).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  }
});

test('a failed or cancelled dependency settles its dependents, and theirs in turn', async () => {
  const queue = uniqueQueue();
  const [a, b, c, d] = await flow([
    { task: 'a', queue, ref: 'a', max_attempts: 1 },
    { task: 'b', queue, ref: 'b', depends_on: ['a'] },
    { task: 'c', queue: `${queue}-later`, depends_on: ['b'] },
    { task: 'd', queue: `${queue}-later`, ref: 'd' },
  ]) as string[];
  await claimAll('w', queue);
  await pool.query("select fail_job($1, 'w', 'BROKEN')", [a]);
  assert.equal(await state(b as string), 'failed:-:DEPENDENCY_FAILED');
  assert.equal(await state(c as string), 'failed:-:DEPENDENCY_FAILED');
  const [e] = await flow([{ task: 'e', queue, depends_on: [d] }]) as string[];
  assert.equal(await state(e as string), 'waiting:1:-');
  await pool.query('select cancel_job($1)', [d]);
  assert.equal(await state(e as string), 'failed:-:DEPENDENCY_CANCELLED');
  // A dependency already finished when its dependent is enqueued.
  const [done] = await flow([{ task: 'x', queue: `${queue}-x` }]) as string[];
  await claimAll('w', `${queue}-x`);
  await pool.query("select complete_job($1, 'w')", [done]);
  const [afterDone, afterFailed] = await flow([{ task: 'y', queue, depends_on: [done] }, { task: 'z', queue, depends_on: [a] }]) as string[];
  assert.equal(await state(afterDone as string), 'pending:-:-');
  assert.equal(await state(afterFailed as string), 'failed:-:DEPENDENCY_FAILED');
  // A waiting job can be cancelled like a pending one.
  const [, waiting] = await flow([{ task: 'p', queue: `${queue}-p`, ref: 'p' }, { task: 'q', queue, depends_on: ['p'] }]) as string[];
  assert.equal((await pool.query('select cancel_job($1) as ok', [waiting])).rows[0].ok, true);
});

test('enqueue_flow refuses bad input with 22023 and enqueues nothing', async () => {
  const queue = uniqueQueue();
  const bad = [
    [{ task: 'a', queue, depends_on: ['nope'] }],
    [{ task: 'a', queue, depends_on: ['00000000-0000-0000-0000-000000000000'] }],
    [{ task: 'a', queue, ref: 'x' }, { task: 'b', queue, ref: 'x' }],
    [{ task: 'a', queue, ref: 'x' }, { task: 'b', queue, depends_on: ['x'], job_key: 'k' }],
    [{ task: 'a', queue, depends_on: 'x' }],
    [],
  ];
  for (const jobs of bad) await assertSqlState(flow(jobs), '22023', JSON.stringify(jobs));
  assert.equal((await pool.query('select count(*)::int as n from jobs where queue = $1', [queue])).rows[0].n, 0);
});

test('fan-out/fan-in through a worker: the parent runs after every child and reads their results', async () => {
  const order: string[] = [];
  await startTestWorker(db, {
    square: async (job) => {
      const { n } = job.payload as { n: number };
      order.push(`square ${n}`);
      return n * n;
    },
    sum: async (_job, ctx) => {
      order.push('sum');
      const children = await ctx.dependencyResults<number>();
      return children.reduce((total, child) => total + child.result, 0);
    },
  });
  const driver = new PostgresDriver({ connectionString: db.url, logger: captureLogs().logger, listen: false });
  await driver.start();
  const client = new QueueClient(driver);
  try {
    const { parent, children } = await client.enqueueParent({ task: 'sum' }, [1, 2, 3, 4].map((n) => ({ task: 'square', payload: { n } })));
    const rows = await waitForJobs(db, [parent, ...children]);
    assert.equal(rows.get(parent)?.result, 30);
    assert.equal(order.at(-1), 'sum');
    assert.equal(order.length, 5);
  } finally {
    await client.close();
  }
});
