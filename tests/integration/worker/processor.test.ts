import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { PermanentJobError } from '../../../src/errors.js';
import { defineTask } from '../../../src/queue/task.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

const enqueue = async (db: Awaited<ReturnType<typeof createTestDatabase>>, task: string, payload: unknown = {}, extra = '') => {
  const { rows } = await db.pool.query(`select enqueue_job($1, $2::jsonb${extra}) as id`, [task, JSON.stringify(payload)]);
  return rows[0].id as string;
};

describe('JobProcessor', () => {
  test('records every outcome with its code, and the worker keeps running', async () => {
    const db = await createTestDatabase();
    await startTestWorker(db, {
      ok: (job) => ({ got: job.payload }),
      flaky: (_job, ctx) => {
        if (ctx.attempt === 1) throw new Error('first attempt fails');
        return 'second time lucky';
      },
      permanent: () => {
        throw new PermanentJobError('never', { code: 'BAD_DOCUMENT' });
      },
      typed: defineTask<{ n: number }>({
        schema: (p) => {
          if (typeof (p as { n?: unknown }).n !== 'number') throw new Error('"n" must be a number');
          return p as { n: number };
        },
        handler: (job) => job.payload.n * 2,
      }),
      slow: defineTask({ timeoutMs: 100, handler: (_job, ctx) => wait(30_000, undefined, { signal: ctx.signal }) }),
      circular: () => {
        const value: Record<string, unknown> = {};
        value.self = value;
        return value;
      },
      rejects: () => Promise.reject('a bare string'),
    });
    const ids = {
      ok: await enqueue(db, 'ok', { a: 1 }),
      flaky: await enqueue(db, 'flaky', {}, ", backoff_base_seconds => 0"),
      permanent: await enqueue(db, 'permanent'),
      unknown: await enqueue(db, 'no-such-task'),
      badPayload: await enqueue(db, 'typed', { n: 'x' }),
      goodPayload: await enqueue(db, 'typed', { n: 21 }),
      timeout: await enqueue(db, 'slow', {}, ', max_attempts => 1'),
      circular: await enqueue(db, 'circular'),
      rejects: await enqueue(db, 'rejects', {}, ', max_attempts => 1'),
    };
    const rows = await waitForJobs(db, Object.values(ids));
    const get = (id: string) => rows.get(id) as Record<string, any>;
    assert.deepEqual(get(ids.ok).result, { got: { a: 1 } });
    assert.equal(get(ids.ok).status, 'completed');
    assert.equal(get(ids.flaky).status, 'completed');
    assert.equal(get(ids.flaky).attempts, 2);
    assert.equal(get(ids.flaky).error_code, 'HANDLER_ERROR');
    const failedWith = (id: string, code: string) => {
      assert.equal(get(id).status, 'failed', `${get(id).task} should fail`);
      assert.equal(get(id).error_code, code);
      assert.ok(get(id).last_error);
    };
    failedWith(ids.permanent, 'BAD_DOCUMENT');
    assert.equal(get(ids.permanent).attempts, 1);
    failedWith(ids.unknown, 'UNKNOWN_TASK');
    assert.equal(get(ids.unknown).attempts, 1);
    failedWith(ids.badPayload, 'INVALID_PAYLOAD');
    assert.equal(get(ids.goodPayload).result, 42);
    failedWith(ids.timeout, 'TIMEOUT');
    failedWith(ids.circular, 'RESULT_NOT_SERIALIZABLE');
    failedWith(ids.rejects, 'HANDLER_ERROR');
    assert.match(get(ids.rejects).last_error, /a bare string/);
    // The worker is still claiming after all that.
    const after = await enqueue(db, 'ok', { again: true });
    assert.equal((await waitForJobs(db, [after])).get(after)?.status, 'completed');
  });

  test('never runs more than MAX_CONCURRENT_JOBS handlers at once', async () => {
    const db = await createTestDatabase();
    let running = 0;
    let peak = 0;
    await startTestWorker(
      db,
      {
        busy: async () => {
          running++;
          peak = Math.max(peak, running);
          await wait(20);
          running--;
        },
      },
      { MAX_CONCURRENT_JOBS: '3' },
    );
    const { rows } = await db.pool.query(`select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'busy')) from generate_series(1, 30)))`);
    await waitForJobs(db, rows.map((r) => r.id));
    assert.equal(peak, 3);
  });

  test('runs higher priority first', async () => {
    const db = await createTestDatabase();
    const order: number[] = [];
    await db.pool.query(`select enqueue_jobs('[{"task":"mark","payload":{"p":0},"priority":0},{"task":"mark","payload":{"p":9},"priority":9},{"task":"mark","payload":{"p":5},"priority":5}]')`);
    await startTestWorker(db, { mark: (job) => void order.push((job.payload as { p: number }).p) }, { MAX_CONCURRENT_JOBS: '1' });
    await waitUntil(() => order.length === 3);
    assert.deepEqual(order, [9, 5, 0]);
  });

  test('a notification starts a job long before the next poll', async () => {
    const db = await createTestDatabase();
    const { worker } = await startTestWorker(db, { ok: () => 'ok' }, { POLL_INTERVAL_MS: '3600000' });
    await waitUntil(() => worker.driver?.wakeUps.mode === 'live');
    const id = await enqueue(db, 'ok');
    // With an hour between polls, only the NOTIFY path can have started it.
    assert.equal((await waitForJobs(db, [id], 10_000)).get(id)?.status, 'completed');
  });

  test('a scheduled job runs when its run_at comes, without a poll', async () => {
    const db = await createTestDatabase();
    const { worker } = await startTestWorker(db, { ok: () => 'ok' }, { POLL_INTERVAL_MS: '3600000' });
    await waitUntil(() => worker.driver?.wakeUps.mode === 'live');
    const id = await enqueue(db, 'ok', {}, ", run_at => now() + interval '300 milliseconds'");
    const row = (await waitForJobs(db, [id], 10_000)).get(id) as Record<string, any>;
    assert.equal(row.status, 'completed');
    assert.ok(row.started_at >= row.run_at);
  });

  test('an unparseable next_run_at in a wake-up is ignored: the timer already set still fires', async () => {
    const db = await createTestDatabase();
    const { worker } = await startTestWorker(db, { ok: () => 'ok' }, { POLL_INTERVAL_MS: '3600000' });
    await waitUntil(() => worker.driver?.wakeUps.mode === 'live');
    const id = await enqueue(db, 'ok', {}, ", run_at => now() + interval '1 second'");
    // A hint whose time new Date() cannot read (PostgreSQL prints years past 9999 and BC dates so).
    await db.pool.query(
      `select pg_notify('supajobs_jobs', '{"queues": ["elsewhere"], "count": 0, "next_run_at": "200000-01-01T00:00:00+00:00"}')`,
    );
    // With an hour between polls, only the timer set for the job's run_at can start it.
    assert.equal((await waitForJobs(db, [id], 15_000)).get(id)?.status, 'completed');
  });

  test('reports stage and progress, one event per stage', async () => {
    const db = await createTestDatabase();
    await startTestWorker(db, {
      staged: async (_job, ctx) => {
        await ctx.progress('downloading', { percent: 10 });
        await ctx.progress('converting', { percent: 60 });
        return 'done';
      },
    });
    const id = await enqueue(db, 'staged');
    const row = (await waitForJobs(db, [id])).get(id) as Record<string, any>;
    assert.equal(row.stage, 'converting');
    assert.deepEqual(row.progress, { percent: 60 });
    const { rows } = await db.pool.query("select stage from job_events where job_id = $1 and event = 'stage' order by id", [id]);
    assert.deepEqual(rows.map((r) => r.stage), ['downloading', 'converting']);
  });

  test('cancelling a running job aborts its handler at the next heartbeat; its result is not stored', async () => {
    const db = await createTestDatabase();
    let sawAbort = false;
    await startTestWorker(
      db,
      {
        long: async (_job, ctx) => {
          await wait(30_000, undefined, { signal: ctx.signal }).catch(() => (sawAbort = true));
          return 'finished anyway';
        },
      },
      { LEASE_SECONDS: '5' },
    );
    const id = await enqueue(db, 'long');
    await waitUntil(async () => (await db.pool.query('select status from jobs where id = $1', [id])).rows[0].status === 'processing');
    await db.pool.query('select cancel_job($1)', [id]);
    await waitUntil(() => sawAbort);
    await wait(100);
    const { rows } = await db.pool.query('select status, result from jobs where id = $1', [id]);
    assert.deepEqual(rows[0], { status: 'cancelled', result: null });
  });

  test('a job whose lease expired elsewhere is reclaimed and finished', async () => {
    const db = await createTestDatabase();
    const id = await enqueue(db, 'ok');
    // A worker that died holding it:
    await db.pool.query("select claim_jobs('dead-worker', null, 1, 1)");
    await db.pool.query("update jobs set lease_expires_at = now() - interval '1 second' where id = $1", [id]);
    await startTestWorker(db, { ok: () => 'ok' }, { RECLAIM_INTERVAL_MS: '100' });
    const row = (await waitForJobs(db, [id])).get(id) as Record<string, any>;
    assert.equal(row.status, 'completed');
    assert.equal(row.attempts, 2);
    const { rows } = await db.pool.query("select count(*)::int as n from job_events where job_id = $1 and error_code = 'LEASE_EXPIRED'", [id]);
    assert.equal(rows[0].n, 1);
  });

  test('stop drains a job that finishes in time and releases one that does not', async () => {
    const db = await createTestDatabase();
    const { worker } = await startTestWorker(
      db,
      {
        quick: () => wait(100).then(() => 'quick done'),
        stuck: (_job, ctx) => wait(60_000, undefined, { signal: ctx.signal }),
      },
      { SHUTDOWN_TIMEOUT_MS: '500' },
    );
    const quick = await enqueue(db, 'quick');
    const stuck = await enqueue(db, 'stuck');
    await waitUntil(async () => (await db.pool.query("select count(*)::int as n from jobs where status = 'processing'")).rows[0].n === 2);
    await worker.stop();
    const { rows } = await db.pool.query('select id, status, attempts, error_code, locked_by from jobs');
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.equal(byId.get(quick)?.status, 'completed');
    assert.deepEqual({ ...byId.get(stuck), id: undefined }, { id: undefined, status: 'pending', attempts: 0, error_code: 'RELEASED', locked_by: null });
    assert.equal(worker.state, 'stopped');
  });

  test('a handler that ignores its abort signal cannot complete the job after its timeout', async () => {
    const db = await createTestDatabase();
    let lateFinish = false;
    await startTestWorker(db, {
      deaf: defineTask({
        timeoutMs: 100,
        handler: async () => {
          await wait(400); // ignores ctx.signal
          lateFinish = true;
          return 'too late';
        },
      }),
    });
    const id = await enqueue(db, 'deaf', {}, ', max_attempts => 1');
    const row = (await waitForJobs(db, [id])).get(id) as Record<string, any>;
    assert.equal(row.error_code, 'TIMEOUT');
    await waitUntil(() => lateFinish);
    await wait(100);
    const { rows } = await db.pool.query('select status, result from jobs where id = $1', [id]);
    assert.deepEqual(rows[0], { status: 'failed', result: null });
  });
});
