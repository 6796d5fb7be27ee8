/**
 * One conformance suite for the driver seam (src/drivers/driver.ts), run with the same assertions
 * against every transport: postgres.test.ts and supabase.test.ts call driverConformance().
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver, WakeUpHint } from '../../../src/drivers/driver.js';
import { DatabaseError } from '../../../src/errors.js';
import { jobFromRow } from '../../../src/drivers/rows.js';
import { QueueClient } from '../../../src/queue/client.js';
import { QueueControls } from '../../../src/queue/queue-controls.js';
import { ScheduleStore } from '../../../src/schedules/schedule-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

export interface ConformanceSetup {
  driver: Driver;
  teardown?: () => Promise<void>;
}

/** setup gets a fresh migrated database and returns a driver on it (not yet started). */
export function driverConformance(name: string, setup: (db: TestDatabase) => Promise<ConformanceSetup>): void {
  describe(`driver conformance: ${name}`, () => {
    let db: TestDatabase;
    let driver: Driver;
    let teardown: (() => Promise<void>) | undefined;
    const worker = 'conformance-worker';

    before(async () => {
      db = await createTestDatabase({ autoDrop: false });
      ({ driver, teardown } = await setup(db));
      await driver.start();
    });
    after(async () => {
      await driver.stop();
      await teardown?.();
      await db.drop();
    });

    /** Each test works in a queue of its own, so tests do not see each other's jobs. */
    let queueCounter = 0;
    const freshQueue = () => `q${++queueCounter}`;
    const row = async (id: string) => (await db.pool.query('select * from jobs where id = $1', [id])).rows[0];

    test('enqueue returns an id; enqueueMany returns ids in input order', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'echo', queue, payload: { n: 0 } });
      assert.match(id, /^[0-9a-f-]{36}$/);
      const ids = await driver.enqueueMany([1, 2, 3].map((n) => ({ task: 'echo', queue, payload: { n } })));
      assert.equal(ids.length, 3);
      for (const [i, jobId] of ids.entries()) assert.deepEqual((await row(jobId)).payload, { n: i + 1 });
      assert.deepEqual(await driver.enqueueMany([]), []);
    });

    test('enqueue honours jobKey while the job is live', async () => {
      const queue = freshQueue();
      const a = await driver.enqueue({ task: 'echo', queue, jobKey: `${queue}-key` });
      const b = await driver.enqueue({ task: 'echo', queue, jobKey: `${queue}-key` });
      assert.equal(a, b);
    });

    test('a claimed job is its row as stored, field for field, on a first attempt and a retry', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'echo', queue, payload: { deep: [1, { x: 'y' }] }, jobKey: `${queue}-k`, priority: 7, maxAttempts: 3 });
      const claimAndCompare = async () => {
        const [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 45 });
        assert.ok(job);
        assert.deepEqual(job, jobFromRow(await row(id)));
        return job;
      };
      await claimAndCompare();
      await driver.progress(worker, id, 'halfway', { done: 1 });
      assert.equal(await driver.fail(worker, { id, attempt: 1, errorCode: 'HANDLER_ERROR', message: 'boom', retryable: true }), 'pending');
      await db.pool.query('update jobs set run_at = now() where id = $1', [id]);
      const retried = await claimAndCompare();
      assert.equal(retried.attempts, 2);
      assert.equal(retried.lastError, 'boom');
      assert.equal(retried.stage, 'halfway');
    });

    test('claim returns jobs in priority order with the lease set, and each once', async () => {
      const queue = freshQueue();
      const low = await driver.enqueue({ task: 'echo', queue, priority: 0, payload: { p: 'low' } });
      const high = await driver.enqueue({ task: 'echo', queue, priority: 5, payload: { p: 'high' } });
      const jobs = await driver.claim({ workerId: worker, queues: [queue], batchSize: 10, leaseSeconds: 30 });
      assert.deepEqual(jobs.map((j) => j.id), [high, low]);
      const [first] = jobs;
      assert.equal(first?.status, 'processing');
      assert.equal(first?.attempts, 1);
      assert.equal(first?.lockedBy, worker);
      assert.deepEqual(first?.payload, { p: 'high' });
      assert.ok(first?.leaseExpiresAt instanceof Date && first.leaseExpiresAt.getTime() > Date.now());
      assert.ok(first?.runAt instanceof Date);
      assert.deepEqual(await driver.claim({ workerId: worker, queues: [queue], batchSize: 10, leaseSeconds: 30 }), []);
    });

    test('complete stores results and is fenced to the lease holder', async () => {
      const queue = freshQueue();
      const ids = await driver.enqueueMany([{ task: 'a', queue }, { task: 'b', queue }]);
      const jobs = await driver.claim({ workerId: worker, queues: [queue], batchSize: 2, leaseSeconds: 30 });
      assert.equal(jobs.length, 2);
      assert.deepEqual(await driver.complete('someone-else', jobs.map((j) => ({ id: j.id, attempt: j.attempts }))), []);
      const done = await driver.complete(worker, [
        { id: ids[0] as string, attempt: 1, result: { ok: true } },
        { id: ids[1] as string, attempt: 1 },
      ]);
      assert.deepEqual([...done].sort(), [...ids].sort());
      assert.deepEqual((await row(ids[0] as string)).result, { ok: true });
      assert.equal((await row(ids[1] as string)).result, null);
      assert.deepEqual(await driver.complete(worker, [{ id: ids[0] as string, attempt: 1 }]), []);
    });

    test('fail schedules a retry, then dead-letters; a stale attempt is fenced out', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'x', queue, maxAttempts: 2, backoffBaseSeconds: 0 });
      let [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(await driver.fail(worker, { id, attempt: 2, errorCode: 'HANDLER_ERROR', message: 'stale', retryable: true }), null);
      assert.equal(await driver.fail(worker, { id, attempt: job!.attempts, errorCode: 'HANDLER_ERROR', message: 'boom', retryable: true }), 'pending');
      [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(job?.attempts, 2);
      assert.equal(await driver.fail(worker, { id, attempt: 2, errorCode: 'HANDLER_ERROR', message: 'boom again', retryable: true }), 'failed');
      const final = await row(id);
      assert.equal(final.status, 'failed');
      assert.equal(final.error_code, 'HANDLER_ERROR');
      assert.equal(final.last_error, 'boom again');
    });

    test('fail with a retry delay moves run_at by exactly that delay', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'x', queue });
      const [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      const failure = { id, attempt: job!.attempts, errorCode: 'HANDLER_ERROR', message: 'later', retryable: true, retryDelayMs: 90_500 };
      assert.equal(await driver.fail(worker, failure), 'pending');
      const { rows } = await db.pool.query('select extract(epoch from run_at - updated_at)::float8 as s from jobs where id = $1', [id]);
      assert.equal(rows[0].s, 90.5);
    });

    test('a non-retryable failure dead-letters at once', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'x', queue });
      const [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(await driver.fail(worker, { id, attempt: job!.attempts, errorCode: 'UNKNOWN_TASK', message: 'no handler', retryable: false }), 'failed');
    });

    test("a failure's public message is stored for the job's owner, beside the raw one", async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'x', queue });
      const [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      const failure = { id, attempt: job!.attempts, errorCode: 'GW_DOWN', message: 'connect ECONNREFUSED 10.0.3.7:5432', retryable: false };
      assert.equal(await driver.fail(worker, { ...failure, publicMessage: 'The gateway is down' }), 'failed');
      const { rows } = await db.pool.query('select last_error, public_error from jobs where id = $1', [id]);
      assert.deepEqual(rows[0], { last_error: 'connect ECONNREFUSED 10.0.3.7:5432', public_error: 'The gateway is down' });
    });

    test('heartbeat extends held leases and reports lost ones', async () => {
      const queue = freshQueue();
      const ids = await driver.enqueueMany([{ task: 'a', queue }, { task: 'b', queue }]);
      await driver.claim({ workerId: worker, queues: [queue], batchSize: 2, leaseSeconds: 5 });
      assert.equal(await driver.cancel(ids[1] as string), true);
      const held = await driver.heartbeat(worker, ids, 120);
      assert.deepEqual(held, [ids[0]]);
      const lease = (await row(ids[0] as string)).lease_expires_at as Date;
      assert.ok(lease.getTime() > Date.now() + 60_000);
      assert.deepEqual(await driver.heartbeat(worker, [], 60), []);
    });

    test('release gives jobs back without counting the attempt', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'a', queue });
      await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.deepEqual(await driver.release('someone-else', [id], 'nope'), []);
      assert.deepEqual(await driver.release(worker, [id], 'shutting down'), [id]);
      const r = await row(id);
      assert.equal(r.status, 'pending');
      assert.equal(r.attempts, 0);
      assert.equal(r.error_code, 'RELEASED');
    });

    test('progress records stage and data while the lease is held', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'a', queue });
      await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(await driver.progress(worker, id, 'converting', { page: 3 }), true);
      const r = await row(id);
      assert.equal(r.stage, 'converting');
      assert.deepEqual(r.progress, { page: 3 });
      assert.equal(await driver.progress('someone-else', id, 'x', null), false);
    });

    test("progress is fenced by attempt: a timed-out attempt cannot write over the next attempt's stage", async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'a', queue, backoffBaseSeconds: 0 });
      const [first] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(await driver.fail(worker, { id, attempt: first!.attempts, errorCode: 'TIMEOUT', message: 'timed out', retryable: true }), 'pending');
      const [second] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      assert.equal(second?.attempts, 2, 'the same worker claimed the job again');
      assert.equal(await driver.progress(worker, id, 'attempt-2', { n: 2 }, second!.attempts), true);
      assert.equal(await driver.progress(worker, id, 'attempt-1-late', { n: 1 }, first!.attempts), false);
      const r = await row(id);
      assert.equal(r.stage, 'attempt-2');
      assert.deepEqual(r.progress, { n: 2 });
    });

    test('a deadlock victim (40P01) leaves the driver as a transient error, and a QueueClient tries again', async () => {
      const queue = freshQueue();
      const client = new QueueClient(driver, { close: async () => {} });
      // The real server raises the real SQLSTATE from a trigger, on the first row inserted after
      // the sequence is reset (a sequence, because the aborted statement rolls back everything else).
      await db.pool.query(`
        create sequence if not exists public.deadlock_calls;
        create or replace function public.raise_deadlock_once() returns trigger language plpgsql security definer set search_path = '' as $f$
        begin
          if nextval('public.deadlock_calls') = 1 then
            raise exception 'deadlock detected' using errcode = '40P01';
          end if;
          return new;
        end $f$;
        drop trigger if exists deadlock_once on jobs;
        create trigger deadlock_once before insert on jobs for each row when (new.queue like 'deadlock-%') execute function public.raise_deadlock_once();`);
      const calls = async () => Number((await db.pool.query("select last_value from public.deadlock_calls")).rows[0].last_value);
      try {
        await db.pool.query("select setval('public.deadlock_calls', 1, false)");
        await assert.rejects(
          driver.enqueue({ task: 'a', queue: `deadlock-${queue}` }),
          (error: unknown) => error instanceof DatabaseError && error.sqlState === '40P01' && error.transient,
          'the driver classifies, it does not retry',
        );
        await db.pool.query("select setval('public.deadlock_calls', 1, false)");
        const ids = await client.enqueueMany([{ task: 'a', queue: `deadlock-${queue}`, jobKey: 'k2' }, { task: 'a', queue: `deadlock-${queue}`, jobKey: 'k1' }]);
        assert.equal(await calls(), 3, 'one aborted try, then one that inserted both rows');
        await db.pool.query("select setval('public.deadlock_calls', 1, false)");
        const single = await client.enqueue({ task: 'a', queue: `deadlock-${queue}` });
        assert.equal(await calls(), 2);
        const { rows } = await db.pool.query('select id, job_key from jobs where queue = $1 order by job_key nulls last', [`deadlock-${queue}`]);
        assert.deepEqual(rows.map((r) => r.id), [ids[1], ids[0], single], "each job once, ids in the caller's order");
      } finally {
        await db.pool.query('drop trigger deadlock_once on jobs');
      }
    });

    test('reclaimExpired returns expired jobs to pending and fences the old worker', async () => {
      const queue = freshQueue();
      const id = await driver.enqueue({ task: 'a', queue });
      const [job] = await driver.claim({ workerId: worker, queues: [queue], batchSize: 1, leaseSeconds: 30 });
      await db.pool.query("update jobs set lease_expires_at = now() - interval '1 second' where id = $1", [id]);
      assert.ok((await driver.reclaimExpired()) >= 1);
      assert.equal((await row(id)).status, 'pending');
      assert.deepEqual(await driver.complete(worker, [{ id, attempt: job!.attempts }]), []);
    });

    test('stats, retry, retryFailed, cancel and purge', async () => {
      const queue = freshQueue();
      const [a, b, c] = await driver.enqueueMany([{ task: 'a', queue }, { task: 'b', queue }, { task: 'c', queue, maxAttempts: 1 }]);
      const jobs = await driver.claim({ workerId: worker, queues: [queue], batchSize: 3, leaseSeconds: 30 });
      assert.equal(jobs.length, 3);
      await driver.complete(worker, [{ id: a as string, attempt: 1 }]);
      await driver.fail(worker, { id: c as string, attempt: 1, errorCode: 'HANDLER_ERROR', message: 'x', retryable: true });
      assert.equal(await driver.cancel(b as string), true);
      assert.equal(await driver.cancel(b as string), false);
      const stats = (await driver.stats()).find((s) => s.queue === queue);
      assert.deepEqual(stats, {
        queue, pending: 0, scheduled: 0, waiting: 0, processing: 0, completed: 1, failed: 1, cancelled: 1,
        oldestPendingAgeSeconds: null, successRate: 0.5,
      });
      assert.equal(await driver.retry(b as string), true);
      assert.equal(await driver.retryFailed(queue), 1);
      assert.equal((await row(c as string)).status, 'pending');
      await db.pool.query("update jobs set updated_at = now() - interval '2 days' where id = $1", [a]);
      assert.equal(await driver.purge(86_400), 1);
      assert.equal(await row(a as string), undefined);
    });

    test('purge in batches: at most batchSize of the oldest, null while another batch runs; QueueClient.purge loops to the end', async () => {
      const queue = freshQueue();
      const ids = await driver.enqueueMany([1, 2, 3, 4, 5].map(() => ({ task: 'p', queue })));
      await driver.claim({ workerId: worker, queues: [queue], batchSize: 5, leaseSeconds: 30 });
      await driver.complete(worker, ids.map((id) => ({ id, attempt: 1 })));
      // ids[i] last changed 11 + i days ago: the last is the oldest.
      await db.pool.query('update jobs set updated_at = now() - make_interval(days => 10 + array_position($1::uuid[], id)) where id = any ($1)', [ids]);
      const left = async () => (await db.pool.query<{ id: string }>('select id from jobs where queue = $1 order by updated_at desc', [queue])).rows.map((r) => r.id);
      const fiveDays = 5 * 86_400;

      assert.equal(await driver.purge(fiveDays, ['completed'], 2), 2);
      assert.deepEqual(await left(), ids.slice(0, 3));
      const holder = await db.pool.connect();
      try {
        await holder.query('begin');
        await holder.query("select purge_jobs('5 days', '{completed}', 1)");
        assert.equal(await driver.purge(fiveDays, ['completed'], 1), null);
      } finally {
        await holder.query('rollback');
        holder.release();
      }
      const client = new QueueClient(driver, { close: async () => {} });
      assert.equal(await client.purge(fiveDays, ['completed'], { batchSize: 1, pauseMs: 0 }), 3);
      assert.deepEqual(await left(), []);
      assert.equal((await db.pool.query('select 1 from job_events where job_id = any ($1)', [ids])).rowCount, 0);
    });

    test('invalid arguments reject with a DatabaseError carrying the SQLSTATE', async () => {
      await assert.rejects(
        driver.claim({ workerId: worker, queues: null, batchSize: 0, leaseSeconds: 30 }),
        (error: unknown) => error instanceof DatabaseError && error.sqlState === '22023' && !error.transient,
      );
      await assert.rejects(
        driver.enqueue({ task: '' }),
        (error: unknown) => error instanceof DatabaseError && error.sqlState === '22023',
      );
    });

    test('schedules and queue controls through callRows: same rows on every transport', async () => {
      const queue = freshQueue();
      const schedules = new ScheduleStore(driver);
      const saved = await schedules.schedule({ name: `${queue}-every-second`, cron: '* * * * * *', task: 'echo', queue: `${queue}-ticks`, timezone: 'Europe/Berlin' });
      assert.equal(saved.timezone, 'Europe/Berlin');
      assert.ok(saved.since instanceof Date);
      await db.pool.query("update job_schedules set since = now() - interval '5 seconds' where name = $1", [saved.name]);
      const { schedules: listed, databaseNow } = await schedules.list();
      const mine = listed.find((s) => s.name === saved.name);
      assert.ok(mine && databaseNow);
      const tick = new Date(Math.floor(mine.since.getTime() / 1000) * 1000 + 1000);
      const fired = await schedules.fire(saved.name, [tick], null);
      assert.deepEqual(fired.map((f) => f.tick.getTime()), [tick.getTime()]);
      assert.equal((await row(fired[0]?.jobId as string)).job_key, `schedule:${saved.name}@${tick.toISOString()}`);
      assert.deepEqual(await schedules.fire(saved.name, [tick], null), [], 'a tick fires once');
      assert.equal((await schedules.setEnabled(saved.name, false))?.enabled, false);
      assert.equal(await schedules.setEnabled(`${queue}-no-such-schedule`, true), null);
      assert.equal(await schedules.unschedule(saved.name), true);
      const controls = new QueueControls(driver);
      assert.equal(await controls.resume(queue), null, 'a queue without controls: nothing to resume');
      const paused = await controls.pause(queue);
      assert.deepEqual([paused.queue, paused.paused, paused.maxRunning, paused.updatedAt instanceof Date], [queue, true, null, true]);
      const limited = await controls.setLimits(queue, { maxRunning: 2, maxPerSecond: 5 });
      assert.deepEqual([limited.paused, limited.maxRunning, limited.maxPerSecond], [true, 2, 5]);
      assert.deepEqual((await controls.list()).filter((c) => c.queue === queue).map((c) => [c.paused, c.maxRunning, c.maxPerSecond, c.processing]), [[true, 2, 5, 0]]);
      await driver.enqueue({ task: 'echo', queue });
      assert.deepEqual(await driver.claim({ workerId: worker, queues: [queue], batchSize: 5, leaseSeconds: 30 }), []);
      assert.equal((await controls.resume(queue))?.paused, false);
      const claimed = await driver.claim({ workerId: worker, queues: [queue], batchSize: 5, leaseSeconds: 30 });
      assert.equal(claimed.length, 1);
      assert.deepEqual(claimed[0], jobFromRow(await row(claimed[0]?.id as string)), 'a claim through the limited path, field for field');
      await controls.setLimits(queue, {});
      await assert.rejects(controls.setLimits(queue, { maxRunning: -1 }), (error: unknown) => error instanceof DatabaseError && error.sqlState === '22023');
    });

    test('ping answers', async () => {
      await driver.ping();
    });

    test('an insert wakes the driver with a hint naming its queue', async () => {
      const queue = freshQueue();
      await waitFor(() => driver.wakeUps.mode === 'live');
      const hints: WakeUpHint[] = [];
      const remove = driver.onWakeUp((hint) => hints.push(hint));
      try {
        await db.pool.query("select enqueue_job('echo', '{}'::jsonb, $1)", [queue]);
        await waitFor(() => hints.some((h) => h.queues?.includes(queue)));
      } finally {
        remove();
      }
    });
  });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
