/**
 * The supabase driver against the stand-in: one contract function per method, wake-ups from
 * Realtime and how they survive dropped sockets, closed channels and a silent server, retries of
 * failed RPC calls, refusal of the anon key, poll-only without the publication, and logs that
 * never hold the key.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Driver, WakeUpHint } from '../../../src/drivers/driver.js';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import type { SupabaseDriverOptions } from '../../../src/drivers/supabase/options.js';
import { DatabaseError } from '../../../src/errors.js';
import { QueueClient } from '../../../src/queue/client.js';
import { captureLogs, type CapturedLogs } from '../../support/logs.js';
import { waitFor } from '../drivers/conformance.js';
import { withStandIn } from './context.js';

const ctx = await withStandIn();
const counters = ctx.standIn.counters;

function newDriver(options: Partial<SupabaseDriverOptions> = {}, logs: CapturedLogs = captureLogs()) {
  const driver = new SupabaseDriver({
    url: ctx.standIn.url,
    serviceRoleKey: ctx.standIn.serviceRoleKey,
    logger: logs.logger,
    socketHeartbeatIntervalMs: 400,
    ...options,
  });
  ctx.cleanup(() => driver.stop());
  return { driver, logs };
}

/** Records hints; `since()` gives those after a mark. */
function recordHints(driver: Driver) {
  const hints: WakeUpHint[] = [];
  driver.onWakeUp((hint) => hints.push(hint));
  return { hints, mark: () => hints.length, since: (mark: number) => hints.slice(mark) };
}

let queues = 0;
const freshQueue = () => `driver-q${++queues}`;
const enqueueElsewhere = (queue: string, runAt?: Date) =>
  ctx.db.pool.query('select enqueue_job($1, queue => $2, run_at => $3)', ['echo', queue, runAt ?? null]);

describe('RPC', () => {
  test('every method is one call of its contract function', async () => {
    const { driver } = newDriver({ realtime: false });
    await driver.start();
    const queue = freshQueue();
    const id = await driver.enqueue({ task: 'echo', queue });
    const [other] = await driver.enqueueMany([{ task: 'echo', queue }]);
    const calls: [string, () => Promise<unknown>][] = [
      ['claim_jobs', () => driver.claim({ workerId: 'w', queues: [queue], batchSize: 2, leaseSeconds: 30 })],
      ['heartbeat_jobs', () => driver.heartbeat('w', [id], 30)],
      ['update_job_progress', () => driver.progress('w', id, 'half', { n: 1 })],
      ['complete_jobs', () => driver.complete('w', [{ id, attempt: 1, result: { ok: true } }])],
      ['fail_job', () => driver.fail('w', { id: other as string, attempt: 1, errorCode: 'HANDLER_ERROR', message: 'x', retryable: false })],
      ['release_jobs', () => driver.release('w', [id], 'test')],
      ['reclaim_expired_jobs', () => driver.reclaimExpired()],
      ['get_queue_stats', () => driver.stats()],
      ['retry_job', () => driver.retry(other as string)],
      ['retry_failed_jobs', () => driver.retryFailed(queue)],
      ['cancel_job', () => driver.cancel(other as string)],
      ['purge_jobs', () => driver.purge(0, ['completed'])],
      ['heartbeat_jobs', () => driver.ping()],
    ];
    for (const [fn, call] of calls) {
      const before = counters.rpc(fn);
      await call();
      assert.equal(counters.rpc(fn), before + 1, fn);
    }
    assert.deepEqual(await driver.heartbeat('w', [], 30), []);
    assert.deepEqual(await driver.complete('w', []), []);
    assert.deepEqual(await driver.release('w', [], 'x'), []);
  });

  test('a 503 or a cut connection leaves the driver as a transient error after one RPC; a 4xx as a permanent one', async () => {
    const { driver } = newDriver({ realtime: false });
    await driver.start();
    const statsBefore = counters.rpc('get_queue_stats');
    ctx.standIn.failNextRpc(1, 503);
    await assert.rejects(driver.stats(), (error: unknown) => error instanceof DatabaseError && error.transient && error.code === 'DATABASE_UNREACHABLE');
    ctx.standIn.failNextRpc(1, 'network');
    await assert.rejects(driver.stats(), (error: unknown) => error instanceof DatabaseError && error.transient);
    assert.equal(counters.rpc('get_queue_stats'), statsBefore + 2, 'the driver does not retry');
    const before = counters.rpc('claim_jobs');
    await assert.rejects(
      driver.claim({ workerId: 'w', queues: null, batchSize: 0, leaseSeconds: 30 }),
      (error: unknown) => error instanceof DatabaseError && error.sqlState === '22023' && !error.transient,
    );
    assert.equal(counters.rpc('claim_jobs'), before + 1);
  });

  test('a QueueClient tries one-off calls again after 503s and cut connections, and nothing is lost', async () => {
    const { driver } = newDriver({ realtime: false });
    await driver.start();
    const client = new QueueClient(driver, { close: async () => {} });
    const queue = freshQueue();
    ctx.standIn.failNextRpc(1, 'network');
    ctx.standIn.failNextRpc(1, 502);
    const enqueuesBefore = counters.rpc('enqueue_jobs');
    const ids = await client.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ task: 'echo', queue, payload: { n } })));
    assert.equal(ids.length, 10);
    assert.equal(counters.rpc('enqueue_jobs'), enqueuesBefore + 3);
    ctx.standIn.failNextRpc(3, 503);
    assert.equal((await client.stats()).find((s) => s.queue === queue)?.pending, 10);
    ctx.standIn.failNextRpc(4, 503);
    await assert.rejects(client.stats(), (error: unknown) => error instanceof DatabaseError && error.transient, 'four tries in all');
    const { rows } = await ctx.db.pool.query('select count(*)::int as n from jobs where queue = $1', [queue]);
    assert.deepEqual(rows, [{ n: 10 }]);
  });

  test('with the anon key every worker function is refused (401)', async () => {
    const { driver } = newDriver({ realtime: false, serviceRoleKey: ctx.standIn.anonKey });
    const refused = (error: unknown) =>
      error instanceof DatabaseError && error.sqlState === '42501' && !error.transient && (error.cause as { status: number }).status === 401;
    await assert.rejects(driver.start(), refused);
    const id = '00000000-0000-0000-0000-000000000000';
    const calls: (() => Promise<unknown>)[] = [
      () => driver.enqueue({ task: 'echo' }),
      () => driver.enqueueMany([{ task: 'echo' }]),
      () => driver.claim({ workerId: 'w', queues: null, batchSize: 1, leaseSeconds: 30 }),
      () => driver.heartbeat('w', [id], 30),
      () => driver.complete('w', [{ id, attempt: 1 }]),
      () => driver.fail('w', { id, attempt: 1, errorCode: 'X', message: 'x', retryable: true }),
      () => driver.release('w', [id], 'x'),
      () => driver.progress('w', id, 's', null),
      () => driver.reclaimExpired(),
      () => driver.stats(),
      () => driver.retry(id),
      () => driver.retryFailed(),
      () => driver.cancel(id),
      () => driver.purge(60),
      () => driver.ping(),
    ];
    for (const call of calls) await assert.rejects(call(), refused);
    const { rowCount } = await ctx.db.pool.query('select 1 from jobs where queue = $1', ['default']);
    assert.equal(rowCount, 0);
  });
});

describe('wake-ups', () => {
  test('an insert by any producer nudges with its queue; a future run_at sets nextRunAt', async () => {
    const { driver } = newDriver();
    const { hints, mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    assert.ok(hints.some((h) => h.queues === null), 'a poll hint after subscribing');
    const queue = freshQueue();
    const from = mark();
    await enqueueElsewhere(queue);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue) && h.count === 1));
    const later = new Date(Date.now() + 60_000);
    await enqueueElsewhere(queue, later);
    await waitFor(() => since(from).some((h) => h.nextRunAt?.getTime() === later.getTime() && h.count === 0));
  });

  test('dropped sockets: the channel rejoins, a poll hint follows, and inserts wake it again', async () => {
    const { driver } = newDriver();
    const { mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    const from = mark();
    ctx.standIn.dropSockets();
    await waitFor(() => driver.wakeUps.mode === 'connecting');
    await waitFor(() => driver.wakeUps.mode === 'live' && since(from).some((h) => h.queues === null));
    const queue = freshQueue();
    await enqueueElsewhere(queue);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue)));
  });

  test('channels closed by the server: a new channel is made', async () => {
    const { driver, logs } = newDriver();
    const { mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    const joins = counters.joins;
    const from = mark();
    ctx.standIn.closeChannels();
    await waitFor(() => driver.wakeUps.mode === 'connecting');
    await waitFor(() => driver.wakeUps.mode === 'live' && counters.joins > joins && since(from).some((h) => h.queues === null));
    assert.ok(logs.lines().some((l) => String(l.msg).includes('closed by the server')));
    const queue = freshQueue();
    await enqueueElsewhere(queue);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue)));
  });

  test('a silent server: the heartbeat times out and a new socket takes over', async () => {
    const { driver } = newDriver();
    const { mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    const sockets = counters.socketsOpened;
    const from = mark();
    ctx.standIn.goSilent();
    await waitFor(() => driver.wakeUps.mode === 'connecting');
    await waitFor(() => driver.wakeUps.mode === 'live' && counters.socketsOpened > sockets);
    const queue = freshQueue();
    await enqueueElsewhere(queue);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue)));
  });

  test('realtime: false means poll-only without a socket', async () => {
    const { driver } = newDriver({ realtime: false });
    const sockets = counters.socketsOpened;
    await driver.start();
    assert.deepEqual(driver.wakeUps, { mode: 'poll-only', reason: 'realtime disabled, polling' });
    assert.equal(counters.socketsOpened, sockets);
  });

  test('jobs not in publication supabase_realtime: poll-only, logged once; live again once it is', async () => {
    await ctx.db.pool.query('alter publication supabase_realtime drop table public.jobs');
    try {
      const { driver, logs } = newDriver();
      await driver.start();
      await waitFor(() => driver.wakeUps.mode === 'poll-only');
      assert.equal(driver.wakeUps.reason, 'realtime unavailable, polling');
      const joins = counters.joins;
      ctx.standIn.dropSockets();
      await waitFor(() => counters.joins > joins && driver.wakeUps.mode === 'poll-only');
      const warnings = logs.lines().filter((l) => String(l.msg).startsWith('realtime unavailable, polling'));
      assert.equal(warnings.length, 1);

      await ctx.db.pool.query('alter publication supabase_realtime add table public.jobs');
      ctx.standIn.dropSockets();
      await waitFor(() => driver.wakeUps.mode === 'live');
    } finally {
      await ctx.db.pool.query(`do $$ begin
        if not exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and tablename = 'jobs') then
          alter publication supabase_realtime add table public.jobs;
        end if; end $$`);
    }
  });
});

describe('secrets', () => {
  test('no log line contains the service key, through failed calls, reconnects and stop', async () => {
    const logs = captureLogs();
    const { driver } = newDriver({}, logs);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    ctx.standIn.failNextRpc(1, 503);
    // A failed call's error, logged whole as the worker's parts log them (cause included).
    await driver.stats().catch((error: unknown) => logs.logger.warn({ err: error }, 'stats failed'));
    ctx.standIn.dropSockets();
    await waitFor(() => driver.wakeUps.mode === 'connecting');
    await waitFor(() => driver.wakeUps.mode === 'live');
    ctx.standIn.closeChannels();
    await waitFor(() => driver.wakeUps.mode === 'connecting');
    await waitFor(() => driver.wakeUps.mode === 'live');
    await driver.stop();
    assert.ok(logs.lines().length >= 3, 'the scenario wrote log lines');
    const key = ctx.standIn.serviceRoleKey;
    const signature = key.split('.')[2] as string;
    assert.equal(logs.text().includes(key), false);
    assert.equal(logs.text().includes(signature), false);
  });

  test('options are validated', () => {
    assert.throws(() => new SupabaseDriver({ url: 'not a url', serviceRoleKey: 'k' }), { name: 'TypeError', message: 'url must be an http(s) URL' });
    assert.throws(() => new SupabaseDriver({ url: 'https://x.supabase.co', serviceRoleKey: '' }), { message: 'serviceRoleKey must be a non-empty string' });
    assert.throws(
      () => new SupabaseDriver({ url: 'https://x.supabase.co', serviceRoleKey: 'k', rpcTimeoutMs: 0 }),
      { message: 'rpcTimeoutMs must be a positive number' },
    );
  });
});
