/**
 * What the statement that finishes jobs does (job_after_finish): completions and dead letters per
 * queue and minute (queue_minute_counts, a ring of 60 minutes, read by get_queue_overview), and a
 * NOTIFY on supajobs_finished for the jobs someone waits for (watch_job), and none for the others.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { claim, enqueue, uniqueQueue, uniqueWorker } from './queue-sql.js';

const CHANNEL = 'supajobs_finished';
const db = await createTestDatabase();
const { pool } = db;

const listener = new pg.Client({ connectionString: db.url });
const received: string[] = [];
let onReceive: (() => void) | undefined;
listener.on('notification', (message) => {
  if (message.channel !== CHANNEL) return;
  received.push(message.payload ?? '');
  onReceive?.();
});
await listener.connect();
await listener.query(`listen ${CHANNEL}`);
db.onDrop(() => listener.end());

/** The notifications fn caused: markers sent before and after it bound them (commit order). */
async function collect(fn: () => Promise<unknown>): Promise<string[]> {
  const sync = async () => {
    const marker = `marker:${randomUUID()}`;
    const arrived = new Promise<void>((resolve) => (onReceive = () => received.includes(marker) && resolve()));
    await pool.query('select pg_notify($1, $2)', [CHANNEL, marker]);
    await arrived;
    return received.indexOf(marker);
  };
  const start = await sync();
  await fn();
  const end = await sync();
  return received.slice(start + 1, end);
}

async function counts(queue: string): Promise<{ completed: number; failed: number }> {
  const { rows: [row] } = await pool.query(
    "select coalesce(sum(completed), 0)::int as completed, coalesce(sum(failed), 0)::int as failed from queue_minute_counts where queue = $1 and minute > now() - interval '1 hour'",
    [queue],
  );
  return row;
}

async function running(queue: string, n: number): Promise<{ worker: string; ids: string[] }> {
  await enqueue(pool, Array.from({ length: n }, () => ({ task: 't', queue })));
  const worker = uniqueWorker();
  const ids = (await claim(pool, worker, { queues: [queue], batchSize: n })).map((j) => j.id);
  assert.equal(ids.length, n);
  return { worker, ids };
}

test('completions and dead letters are counted once per job, per queue and minute; retries and other updates are not', async () => {
  const queue = uniqueQueue();
  const { worker, ids: [a, b, c, d] } = await running(queue, 4);
  await pool.query('select complete_jobs($1, $2)', [worker, [a, b]]);
  // A fenced-out completion of an already completed job changes nothing.
  await pool.query('select complete_jobs($1, $2)', [worker, [a]]);
  await pool.query("select fail_job($1, $2, 'E', retryable => false)", [c, worker]);
  // A retry is no end: back to pending.
  await pool.query("select fail_job($1, $2, 'E', retryable => true)", [d, worker]);
  // An update of a finished row without a change of status (it gains a dependent) counts nothing.
  await pool.query('select enqueue_flow($1)', [JSON.stringify([{ task: 'child', queue: uniqueQueue(), depends_on: [a] }])]);
  assert.deepEqual(await counts(queue), { completed: 2, failed: 1 });
  const { rows: [row] } = await pool.query('select * from get_queue_overview() where queue = $1', [queue]);
  assert.deepEqual([row.completed_last_hour, row.failed_last_hour, row.scheduled].map(Number), [2, 1, 1]);
  assert.equal(row.completions_per_minute.at(-1), 2);
  assert.equal(row.success_rate, 2 / 3);
});

test('the ring: a slot last used an hour ago starts again, a newer minute is not overwritten, the overview reads 60 minutes', async () => {
  const queue = uniqueQueue();
  const slot = "(extract(epoch from date_trunc('minute', now()))::bigint / 60 % 60)::smallint";
  const shards = 'generate_series(0, 7)';
  // This minute's slot, every shard, as left an hour ago; and a slot 30 minutes back, older than an hour.
  await pool.query(`insert into queue_minute_counts (queue, slot, shard, minute, completed, failed)
                    select $1, ${slot}, s, date_trunc('minute', now()) - interval '60 minutes', 50, 5 from ${shards} s`, [queue]);
  await pool.query(`insert into queue_minute_counts (queue, slot, shard, minute, completed, failed)
                    values ($1, (${slot} + 30) % 60, 0, date_trunc('minute', now()) - interval '90 minutes', 7, 0)`, [queue]);
  // Nothing within the last 60 minutes: the queue is not in the overview.
  assert.equal((await pool.query('select * from get_queue_overview() where queue = $1', [queue])).rowCount, 0);
  const { worker, ids } = await running(queue, 2);
  await pool.query('select complete_jobs($1, $2)', [worker, ids]);
  assert.deepEqual(await counts(queue), { completed: 2, failed: 0 });
  // A row already at a later minute than the writer's transaction: left as it is.
  await pool.query(`update queue_minute_counts set minute = date_trunc('minute', now()) + interval '1 minute', completed = 9
                    where queue = $1 and slot = ${slot}`, [queue]);
  const next = await running(queue, 1);
  await pool.query('select complete_jobs($1, $2)', [next.worker, next.ids]);
  const { rows } = await pool.query(`select completed from queue_minute_counts where queue = $1 and slot = ${slot}`, [queue]);
  assert.ok(rows.every((r) => r.completed === 9 || r.completed === 50), JSON.stringify(rows));
});

test("a waited job's end is one NOTIFY naming it; jobs nobody waits for send none", async () => {
  const queue = uniqueQueue();
  const { worker, ids: [a, b, c] } = await running(queue, 3);
  const { rows: [{ waiter }] } = await pool.query('select watch_job($1) as waiter', [a]);
  assert.ok(waiter);
  assert.deepEqual(await collect(() => pool.query('select complete_jobs($1, $2)', [worker, [a, b]])), [a]);
  assert.equal((await pool.query('select 1 from job_waiters where job_id = $1', [a])).rowCount, 0);
  assert.deepEqual(await collect(() => pool.query('select complete_jobs($1, $2)', [worker, [c]])), []);
  // Finished or missing: nothing to wait for.
  assert.equal((await pool.query('select watch_job($1) as waiter', [a])).rows[0].waiter, null);
  assert.equal((await pool.query('select watch_job($1) as waiter', [randomUUID()])).rows[0].waiter, null);
  // Cancelled while pending, and a waiter that gave up.
  const [pending, other] = await enqueue(pool, [{ task: 't', queue }, { task: 't', queue }]);
  await pool.query('select watch_job($1)', [pending]);
  const { rows: [gaveUp] } = await pool.query('select watch_job($1) as waiter', [other]);
  await pool.query('select unwatch_job($1, $2)', [other, gaveUp.waiter]);
  assert.deepEqual(await collect(() => pool.query('select cancel_jobs(queue => $1)', [queue])), [pending]);
});

test('more than 200 waited jobs ending in one statement: notifications of at most 200 ids, every id once', async () => {
  const queue = uniqueQueue();
  const { worker, ids } = await running(queue, 450);
  await pool.query('select watch_job(id) from unnest($1::uuid[]) id', [ids]);
  const payloads = await collect(() => pool.query('select complete_jobs($1, $2)', [worker, ids]));
  assert.equal(payloads.length, 3);
  const notified = payloads.flatMap((p) => p.split(','));
  assert.ok(payloads.every((p) => p.split(',').length <= 200));
  assert.deepEqual([...notified].sort(), [...ids].sort());
});

test('watch_job and a change under way: whichever commits first, the waiter learns the end', async () => {
  const queue = uniqueQueue();
  const { worker, ids: [a, b] } = await running(queue, 2);
  // The watch first, still open: the completion waits for it, then notifies.
  const watcher = await pool.connect();
  try {
    await watcher.query('begin');
    await watcher.query('select watch_job($1)', [a]);
    const payloads = await collect(async () => {
      const completing = pool.query('select complete_jobs($1, $2)', [worker, [a]]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await watcher.query('commit');
      await completing;
    });
    assert.deepEqual(payloads, [a]);
    // The completion first, still open: the watch waits for it, then says the job has ended.
    const completer = await pool.connect();
    try {
      await completer.query('begin');
      await completer.query('select complete_jobs($1, $2)', [worker, [b]]);
      const watching = pool.query('select watch_job($1) as waiter', [b]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await completer.query('commit');
      assert.equal((await watching).rows[0].waiter, null);
    } finally {
      completer.release();
    }
  } finally {
    watcher.release();
  }
});
