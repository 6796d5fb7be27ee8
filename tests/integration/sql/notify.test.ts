import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import {
  asRole,
  claim,
  claimOne,
  enqueue,
  enqueueOne,
  expireLeases,
  getJob,
  uniqueQueue,
  uniqueWorker,
} from './queue-sql.js';

const CHANNEL = 'supajobs_jobs';
const db = await createTestDatabase();
const { pool } = db;

interface Wakeup {
  queues: string[] | null;
  count: number;
  next_run_at: string | null;
}

/**
 * A LISTEN connection. collect(fn) returns what fn caused: before and after fn a marker is sent on
 * the same channel; notifications arrive in commit order, so between the two markers lies
 * everything fn caused, and nothing else.
 */
const listener = new pg.Client({ connectionString: db.url });
const received: string[] = [];
let onReceive: (() => void) | undefined;
listener.on('notification', (message) => {
  if (message.channel !== CHANNEL) return;
  received.push(message.payload ?? '');
  onReceive?.();
});

/** Sends a marker and waits for it; returns its index in received. */
async function sync(): Promise<number> {
  const marker = `marker:${randomUUID()}`;
  const arrived = new Promise<void>((resolve) => {
    onReceive = () => received.includes(marker) && resolve();
  });
  await pool.query('select pg_notify($1, $2)', [CHANNEL, marker]);
  await arrived;
  onReceive = undefined;
  return received.indexOf(marker);
}

async function collect(fn: () => Promise<unknown>): Promise<Wakeup[]> {
  const start = await sync();
  await fn();
  const end = await sync();
  return received.slice(start + 1, end).map((payload) => JSON.parse(payload) as Wakeup);
}

// A suite, so that the listener closes before the file's database is dropped.
describe('notifications on supajobs_jobs', () => {
  before(async () => {
    await listener.connect();
    await listener.query(`listen ${CHANNEL}`);
  });
  after(() => listener.end());

  test('one INSERT statement of many rows sends one notification naming its queues and count', async () => {
    const [a, b] = [uniqueQueue('a'), uniqueQueue('b')].sort();
    const wakeups = await collect(() =>
      enqueue(pool, Array.from({ length: 100 }, (_, i) => ({ task: 't', queue: i % 2 ? a : b }))),
    );
    assert.deepEqual(wakeups, [{ queues: [a, b], count: 100, next_run_at: null }]);
  });

  test('scheduled jobs are announced by the earliest run_at, ready ones by count', async () => {
    const queue = uniqueQueue();
    const soon = new Date(Date.now() + 60_000);
    const later = new Date(Date.now() + 120_000);
    const mixed = await collect(() =>
      enqueue(pool, [
        { task: 't', queue },
        { task: 't', queue, run_at: later.toISOString() },
        { task: 't', queue },
        { task: 't', queue, run_at: soon.toISOString() },
      ]),
    );
    assert.equal(mixed.length, 1);
    assert.deepEqual({ ...mixed[0], next_run_at: null }, { queues: [queue], count: 2, next_run_at: null });
    assert.equal(new Date(mixed[0]?.next_run_at as string).getTime(), soon.getTime());

    const onlyLater = await collect(() => enqueue(pool, [{ task: 't', queue, run_at: later.toISOString() }]));
    assert.equal(onlyLater.length, 1);
    assert.equal(onlyLater[0]?.count, 0);
    assert.equal(onlyLater[0]?.queues, null);
    assert.equal(new Date(onlyLater[0]?.next_run_at as string).getTime(), later.getTime());
  });

  test('past 50 queues the notification says any queue', async () => {
    const wakeups = await collect(() => enqueue(pool, Array.from({ length: 60 }, () => ({ task: 't', queue: uniqueQueue() }))));
    assert.deepEqual(wakeups, [{ queues: null, count: 60, next_run_at: null }]);
  });

  test('claims, heartbeats, progress, completions and deduplicated enqueues are silent', async () => {
    const queue = uniqueQueue();
    const worker = uniqueWorker();
    const [id] = await enqueue(pool, [{ task: 't', queue, job_key: 'k' }]);
    const wakeups = await collect(async () => {
      await enqueue(pool, [{ task: 't', queue, job_key: 'k' }]);
      await claimOne(pool, worker, queue);
      await pool.query('select * from public.heartbeat_jobs(worker_id => $1, ids => $2)', [worker, [id]]);
      await pool.query("select public.update_job_progress(id => $1, worker_id => $2, stage => 's')", [id, worker]);
      await pool.query('select public.complete_job(id => $1, worker_id => $2)', [id, worker]);
    });
    assert.deepEqual(wakeups, []);
  });

  test('a job becoming pending again notifies: retry with backoff, release, reclaim, retry_job', async () => {
    const queue = uniqueQueue();
    const worker = uniqueWorker();
    const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 1 });
    await claimOne(pool, worker, queue);

    // Released: ready at once.
    const released = await collect(() => pool.query('select * from public.release_jobs(worker_id => $1, ids => $2)', [worker, [id]]));
    assert.deepEqual(released, [{ queues: [queue], count: 1, next_run_at: null }]);

    // Retried after a failure: ready later, announced by its run_at.
    await pool.query('update public.jobs set max_attempts = 3 where id = $1', [id]);
    await claimOne(pool, worker, queue);
    const retried = await collect(() => pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E')", [id, worker]));
    const runAt = (await getJob(pool, id)).run_at;
    assert.equal(retried.length, 1);
    assert.equal(retried[0]?.count, 0);
    assert.equal(new Date(retried[0]?.next_run_at as string).getTime(), runAt.getTime());

    // Lease lost: back to pending, ready at once.
    await pool.query('update public.jobs set run_at = now() where id = $1', [id]);
    await claimOne(pool, worker, queue);
    await expireLeases(pool, [id]);
    const reclaimed = await collect(() => pool.query('select public.reclaim_expired_jobs()'));
    assert.deepEqual(reclaimed, [{ queues: [queue], count: 1, next_run_at: null }]);

    // A dead letter retried by hand.
    await claimOne(pool, worker, queue);
    await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E', retryable => false)", [id, worker]);
    const manual = await collect(() => pool.query('select public.retry_job(id => $1)', [id]));
    assert.deepEqual(manual, [{ queues: [queue], count: 1, next_run_at: null }]);
  });

  test('retry_failed_jobs of many jobs sends one notification', async () => {
    const queue = uniqueQueue();
    const worker = uniqueWorker();
    const ids = await enqueue(pool, Array.from({ length: 5 }, () => ({ task: 't', queue, max_attempts: 1 })));
    await claim(pool, worker, { queues: [queue], batchSize: 5 });
    for (const id of ids) {
      await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E')", [id, worker]);
    }
    const wakeups = await collect(() => pool.query('select public.retry_failed_jobs(queue => $1)', [queue]));
    assert.deepEqual(wakeups, [{ queues: [queue], count: 5, next_run_at: null }]);
  });

  test("an end user's insert through RLS notifies too", async () => {
    const queue = uniqueQueue();
    await pool.query('insert into public.job_client_tasks (task, queue) values ($1, $2)', ['user-task', queue]);
    const wakeups = await collect(() =>
      asRole(pool, 'authenticated', (c) => c.query("insert into public.jobs (task) values ('user-task')"), randomUUID()),
    );
    assert.deepEqual(wakeups, [{ queues: [queue], count: 1, next_run_at: null }]);
  });
});
