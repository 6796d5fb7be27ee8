/**
 * Queue controls and concurrency keys in the SQL contract: pause_queue, resume_queue,
 * set_queue_limits and jobs' concurrency_key, all honoured inside claim_jobs. Properties under
 * concurrency are checked on what the database recorded (started_at, completed_at), not on timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { assertSqlState, claim, enqueue, uniqueQueue, uniqueWorker } from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

/** The most jobs of the list that were processing at one instant, from their recorded start and end. */
async function maxOverlap(ids: string[], key?: (row: { concurrency_key: string | null }) => string): Promise<Map<string, number>> {
  const { rows } = await pool.query('select concurrency_key, started_at, completed_at from jobs where id = any($1::uuid[])', [ids]);
  const groups = new Map<string, { t: number; d: number }[]>();
  for (const r of rows) {
    const g = key ? key(r) : 'all';
    const events = groups.get(g) ?? [];
    // An end sorts before a start at the same instant: the slot was free again.
    events.push({ t: r.started_at.getTime(), d: 1 }, { t: r.completed_at.getTime(), d: -1 });
    groups.set(g, events);
  }
  const result = new Map<string, number>();
  for (const [g, events] of groups) {
    events.sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (now += e.d));
    result.set(g, max);
  }
  return result;
}

/** n connections each claiming (batch) and completing after a short hold, until nothing is left. */
async function drainConcurrently(queues: string[] | null, total: number, connections = 6, batch = 5, holdMs = 15): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    return c;
  }));
  let done = 0;
  const deadline = Date.now() + 20_000;
  try {
    await Promise.all(clients.map(async (c) => {
      const worker = uniqueWorker();
      while (done < total && Date.now() < deadline) {
        const rows = await claim(c, worker, { queues, batchSize: batch });
        if (rows.length === 0) {
          await sleep(5);
          continue;
        }
        await sleep(holdMs);
        await c.query('select public.complete_jobs(worker_id => $1, ids => $2::uuid[])', [worker, rows.map((r) => r.id)]);
        done += rows.length;
      }
    }));
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  assert.equal(done, total, 'every job ran');
}

test('a paused queue claims nothing, named or among all queues; other queues flow; resume claims at once', async () => {
  const paused = uniqueQueue('paused');
  const other = uniqueQueue('other');
  await pool.query('select * from public.pause_queue(queue => $1)', [paused]);
  const [held] = await enqueue(pool, [{ task: 't', queue: paused, priority: 100 }]);
  const [free] = await enqueue(pool, [{ task: 't', queue: other }]);
  assert.deepEqual(await claim(pool, uniqueWorker(), { queues: [paused], batchSize: 10 }), []);
  const any = await claim(pool, uniqueWorker(), { queues: [paused, other], batchSize: 10 });
  assert.deepEqual(any.map((j) => j.id), [free]);
  const { rows: controls } = await pool.query('select * from public.get_queue_controls() where queue = $1', [paused]);
  assert.equal(controls[0].paused, true);
  await pool.query('select * from public.resume_queue(queue => $1)', [paused]);
  const resumed = await claim(pool, uniqueWorker(), { queues: [paused], batchSize: 10 });
  assert.deepEqual(resumed.map((j) => j.id), [held]);
});

test('max_running: concurrent claims never have more of the queue processing than the limit', async () => {
  const queue = uniqueQueue('limited');
  await pool.query('select * from public.set_queue_limits(queue => $1, max_running => 2)', [queue]);
  const ids = await enqueue(pool, Array.from({ length: 40 }, () => ({ task: 't', queue })));
  await drainConcurrently([queue], ids.length);
  assert.equal((await maxOverlap(ids)).get('all'), 2);
});

test('a claim records start, update and lease from one instant, as the drivers assume', async () => {
  const queue = uniqueQueue('lease');
  await pool.query('select * from public.set_queue_limits(queue => $1, max_per_second => 100)', [queue]);
  await enqueue(pool, [{ task: 't', queue }]);
  const [job] = await claim(pool, uniqueWorker(), { queues: [queue], leaseSeconds: 30 });
  assert.ok(job?.started_at);
  assert.equal(job.lease_expires_at?.getTime(), job.started_at.getTime() + 30_000);
  assert.equal(job.updated_at.getTime(), job.started_at.getTime());
});

test('concurrency keys: never more running per key than its limit; jobs without a key keep flowing', async () => {
  const queue = uniqueQueue('keys');
  const inputs = [
    ...Array.from({ length: 12 }, () => ({ task: 't', queue, concurrency_key: 'user-a' })),
    ...Array.from({ length: 12 }, () => ({ task: 't', queue, concurrency_key: 'user-b', concurrency_limit: 3 })),
    ...Array.from({ length: 12 }, () => ({ task: 't', queue })),
  ];
  const ids = await enqueue(pool, inputs as never);
  await drainConcurrently([queue], ids.length);
  const overlap = await maxOverlap(ids, (r) => r.concurrency_key ?? 'none');
  assert.equal(overlap.get('user-a'), 1);
  assert.ok((overlap.get('user-b') ?? 0) <= 3, `user-b ran ${overlap.get('user-b')} at once`);
  assert.ok((overlap.get('none') ?? 0) > 1, 'jobs without a key ran side by side');
});

test('a saturated key holds back only its own jobs', async () => {
  const queue = uniqueQueue('sat');
  const [first, second, plain] = await enqueue(pool, [
    { task: 't', queue, priority: 5, concurrency_key: 'k1' },
    { task: 't', queue, priority: 5, concurrency_key: 'k1' },
    { task: 't', queue },
  ] as never);
  const a = await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 10 });
  assert.deepEqual(a.map((j) => j.id).sort(), [first, plain].sort());
  assert.deepEqual(await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 10 }), []);
  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [first, a.find((j) => j.id === first)?.locked_by]);
  assert.deepEqual((await claim(pool, uniqueWorker(), { queues: [queue], batchSize: 10 })).map((j) => j.id), [second]);
});

test('max_per_second: no one-second span has more starts than the limit', async () => {
  const queue = uniqueQueue('rate');
  await pool.query('select * from public.set_queue_limits(queue => $1, max_per_second => 4)', [queue]);
  const ids = await enqueue(pool, Array.from({ length: 10 }, () => ({ task: 't', queue })));
  const worker = uniqueWorker();
  const deadline = Date.now() + 10_000;
  let claimed = 0;
  while (claimed < ids.length && Date.now() < deadline) {
    claimed += (await claim(pool, worker, { queues: [queue], batchSize: 10 })).length;
    await sleep(20);
  }
  assert.equal(claimed, ids.length);
  const { rows } = await pool.query<{ t: Date }>('select started_at as t from jobs where queue = $1 order by started_at', [queue]);
  const starts = rows.map((r) => r.t.getTime());
  for (const s of starts) assert.ok(starts.filter((t) => t >= s && t < s + 1000).length <= 4, 'more than 4 starts within one second');
});

test('arguments are checked: 22023', async () => {
  await assertSqlState(pool.query("select * from public.set_queue_limits(queue => 'q', max_running => -1)"), '22023', 'negative max_running');
  await assertSqlState(pool.query("select * from public.set_queue_limits(queue => 'q', max_per_second => 0)"), '22023', 'max_per_second 0');
  await assertSqlState(pool.query("select * from public.pause_queue(queue => '')"), '22023', 'empty queue');
  await assertSqlState(enqueue(pool, [{ task: 't', concurrency_key: '' }] as never), '22023', 'empty key');
  await assertSqlState(enqueue(pool, [{ task: 't', concurrency_key: 'k', concurrency_limit: 0 }] as never), '22023', 'limit 0');
  await assertSqlState(enqueue(pool, [{ task: 't', concurrency_limit: 1.5 }] as never), '22023', 'fractional limit');
});
