/**
 * Broadcast wake-ups (REALTIME_WAKE_UPS=broadcast) through the stand-in, with the real supabase-js
 * and the real PostgreSQL: the database sends one private Broadcast message per statement that
 * made work ready, once a worker turned them on; a driver in broadcast mode hears them on the
 * private topic, through lost sockets and closed channels; a worker whose poll is 60 s picks jobs
 * up by them alone; 10,000 jobs inserted at once are one message; without realtime.send (plain
 * PostgreSQL) inserts work and the worker polls, saying why; postgres_changes mode is untouched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import type { Driver, WakeUpHint } from '../../../src/drivers/driver.js';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import type { SupabaseDriverOptions } from '../../../src/drivers/supabase/options.js';
import { Worker } from '../../../src/worker.js';
import { captureLogs, type CapturedLogs } from '../../support/logs.js';
import { waitForJobs } from '../../support/worker.js';
import { waitFor } from '../drivers/conformance.js';
import { withStandIn, type StandInContext } from './context.js';

const ctx = await withStandIn();
const plain = await withStandIn({ broadcastFromDatabase: false });
const counters = ctx.standIn.counters;

function newDriver(on: StandInContext, options: Partial<SupabaseDriverOptions> = {}, logs: CapturedLogs = captureLogs()) {
  const driver = new SupabaseDriver({
    url: on.standIn.url,
    serviceRoleKey: on.standIn.serviceRoleKey,
    logger: logs.logger,
    realtimeWakeUps: 'broadcast',
    socketHeartbeatIntervalMs: 400,
    ...options,
  });
  on.cleanup(() => driver.stop());
  return { driver, logs };
}

function recordHints(driver: Driver) {
  const hints: WakeUpHint[] = [];
  driver.onWakeUp((hint) => hints.push(hint));
  return { hints, mark: () => hints.length, since: (mark: number) => hints.slice(mark) };
}

let queues = 0;
const freshQueue = () => `broadcast-q${++queues}`;

interface MessageRow {
  id: string;
  topic: string;
  event: string;
  private: boolean;
  extension: string;
  payload: Record<string, unknown>;
}

/** The broadcast rows fn made (realtime.messages is never emptied in the stand-in). */
async function messagesOf(on: StandInContext, fn: () => Promise<unknown>): Promise<MessageRow[]> {
  const { rows: [mark] } = await on.db.pool.query<{ n: number }>('select count(*)::int as n from realtime.messages');
  await fn();
  const { rows } = await on.db.pool.query<MessageRow>(
    'select id, topic, event, private, extension, payload from realtime.messages order by inserted_at, id offset $1',
    [mark?.n ?? 0],
  );
  return rows;
}

const enqueueBatch = (on: StandInContext, jobs: object[]) => on.db.pool.query('select * from enqueue_jobs($1::jsonb)', [JSON.stringify(jobs)]);
const setBroadcasts = async (on: StandInContext, enabled: boolean) => {
  const { data, error } = await on.client(on.standIn.serviceRoleKey).rpc('set_broadcast_wake_ups', { enabled });
  assert.equal(error, null);
  return data as boolean;
};

describe('in the database', () => {
  test('off until turned on: then one private message per statement, naming its queues, for every producer', async () => {
    const [a, b] = [freshQueue(), freshQueue()];
    assert.deepEqual(await messagesOf(ctx, () => enqueueBatch(ctx, [{ task: 'echo', queue: a }])), [], 'a message while off');

    assert.equal(await setBroadcasts(ctx, true), true);
    const later = new Date(Date.now() + 3_600_000);
    const sent = await messagesOf(ctx, () =>
      enqueueBatch(ctx, [{ task: 'echo', queue: b }, { task: 'echo', queue: a }, { task: 'echo', queue: a }, { task: 'echo', queue: a, run_at: later.toISOString() }]),
    );
    assert.equal(sent.length, 1, 'one statement, one message');
    const [message] = sent as [MessageRow];
    assert.deepEqual(
      { topic: message.topic, event: message.event, private: message.private, extension: message.extension },
      { topic: 'supajobs:jobs', event: 'ready', private: true, extension: 'broadcast' },
    );
    assert.deepEqual([...(message.payload.queues as string[])].sort(), [a, b].sort());
    assert.equal(message.payload.count, 3);
    assert.equal(new Date(message.payload.next_run_at as string).getTime(), later.getTime());
    assert.equal(message.payload.id, message.id, 'realtime.send adds the message id');

    // A service_role caller (resume_queue is not SECURITY DEFINER) sends through the definer path too.
    const resumed = await messagesOf(ctx, async () => {
      const { error } = await ctx.client(ctx.standIn.serviceRoleKey).rpc('resume_queue', { queue: a });
      assert.equal(error, null);
    });
    assert.deepEqual(resumed.map((m) => m.payload.queues), [[a]]);

    assert.equal(await setBroadcasts(ctx, false), false);
    assert.deepEqual(await messagesOf(ctx, () => enqueueBatch(ctx, [{ task: 'echo', queue: a }])), [], 'a message after turning off');
  });

  test('the setting is written only when it changes, so every worker may turn it on at start', async () => {
    assert.equal(await setBroadcasts(ctx, true), true);
    const read = async () => (await ctx.db.pool.query('select broadcast, updated_at from supajobs.wake_up_settings')).rows;
    const first = await read();
    assert.equal(await setBroadcasts(ctx, true), true);
    assert.deepEqual(await read(), first);
    assert.equal(first.length, 1);
  });

  test('plain PostgreSQL (no realtime.send): turning them on answers false and changes nothing; inserts work even if the setting is forced on', async () => {
    assert.equal(await setBroadcasts(plain, true), false);
    const { rows } = await plain.db.pool.query('select broadcast from supajobs.wake_up_settings');
    assert.deepEqual(rows, [{ broadcast: false }]);
    await plain.db.pool.query('update supajobs.wake_up_settings set broadcast = true');
    try {
      const { rows: ids } = await enqueueBatch(plain, [{ task: 'echo', queue: 'plain' }, { task: 'echo', queue: 'plain' }]);
      assert.equal(ids.length, 2);
    } finally {
      await plain.db.pool.query('update supajobs.wake_up_settings set broadcast = false');
    }
  });
});

describe('driver in broadcast mode', () => {
  test('joins the private topic, is live once Realtime reads the database, and hints name the queues and the next run_at', async () => {
    const changesBefore = counters.sent('postgres_changes');
    const { driver } = newDriver(ctx);
    const { hints, mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    assert.ok(hints.some((h) => h.queues === null), 'a poll hint after subscribing');
    const queue = freshQueue();
    const later = new Date(Date.now() + 60_000);
    const from = mark();
    await enqueueBatch(ctx, [{ task: 'echo', queue }, { task: 'echo', queue }, { task: 'echo', queue, run_at: later.toISOString() }]);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue)));
    assert.deepEqual(since(from), [{ queues: [queue], count: 2, nextRunAt: later }]);
    assert.equal(counters.sent('postgres_changes'), changesBefore, 'no postgres_changes frame');
    await driver.stop();
  });

  test('dropped sockets and channels closed by the server: it joins again, polls, and hears broadcasts again', async () => {
    const { driver } = newDriver(ctx);
    const { mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    for (const fault of [() => ctx.standIn.dropSockets(), () => ctx.standIn.closeChannels()]) {
      const from = mark();
      fault();
      await waitFor(() => driver.wakeUps.mode === 'connecting');
      await waitFor(() => driver.wakeUps.mode === 'live' && since(from).some((h) => h.queues === null));
      const queue = freshQueue();
      await enqueueBatch(ctx, [{ task: 'echo', queue }]);
      await waitFor(() => since(from).some((h) => h.queues?.includes(queue)));
    }
    await driver.stop();
  });

  test('without realtime.send: poll-only from the start, one warning saying why, no socket', async () => {
    const sockets = plain.standIn.counters.socketsOpened;
    const { driver, logs } = newDriver(plain);
    await driver.start();
    assert.deepEqual(driver.wakeUps, { mode: 'poll-only', reason: 'broadcast wake-ups unavailable, polling' });
    const warnings = logs.lines().filter((l) => String(l.msg).startsWith('broadcast wake-ups unavailable, polling'));
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]?.msg), /no realtime\.send\(\)/);
    assert.equal(plain.standIn.counters.socketsOpened, sockets);
    await driver.stop();
  });

  test('postgres_changes mode (the default) leaves the setting alone and still wakes on INSERT events', async () => {
    const calls = counters.rpc('set_broadcast_wake_ups');
    const { driver } = newDriver(ctx, { realtimeWakeUps: undefined });
    const { mark, since } = recordHints(driver);
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'live');
    assert.equal(counters.rpc('set_broadcast_wake_ups'), calls);
    const queue = freshQueue();
    const from = mark();
    await ctx.db.pool.query('select enqueue_job($1, queue => $2)', ['echo', queue]);
    await waitFor(() => since(from).some((h) => h.queues?.includes(queue) && h.count === 1));
    await driver.stop();
  });
});

describe('a worker in broadcast mode', () => {
  const runs = new Map<string, number>();
  const logs = captureLogs({ level: 'debug' });
  const worker = new Worker({
    config: loadConfig({
      TRANSPORT: 'supabase',
      SUPABASE_URL: ctx.standIn.url,
      SUPABASE_SERVICE_ROLE_KEY: ctx.standIn.serviceRoleKey,
      REALTIME_WAKE_UPS: 'broadcast',
      WORKER_ID: 'broadcast-worker',
      HEALTH_CHECK_PORT: '0',
      HEALTH_CHECK_HOST: '127.0.0.1',
      MONITOR_INTERVAL_MS: '0',
      MAX_CONCURRENT_JOBS: '32',
      // Longer than this file runs: only a wake-up (or the poll after each subscription) starts a job.
      POLL_INTERVAL_MS: '60000',
    }),
    logger: logs.logger,
    tasks: { count: async (job) => void runs.set(job.id, (runs.get(job.id) ?? 0) + 1) },
  });
  const producer = new SupabaseDriver({ url: ctx.standIn.url, serviceRoleKey: ctx.standIn.serviceRoleKey, realtime: false });
  ctx.cleanup(async () => {
    await worker.stop();
    await producer.stop();
  });
  const hints: WakeUpHint[] = [];

  test('picks a job up by its broadcast, with no poll due for a minute', async () => {
    await producer.start();
    await worker.start();
    worker.driver?.onWakeUp((hint) => hints.push(hint));
    await waitFor(() => worker.driver?.wakeUps.mode === 'live');
    const changesBefore = counters.sent('postgres_changes');
    const relayedBefore = counters.broadcastsRelayed;
    const queue = freshQueue();
    const [id] = await producer.enqueueMany([{ task: 'count', queue }]);
    const rows = await waitForJobs(ctx.db, [id as string], 15_000);
    assert.equal(rows.get(id as string)?.status, 'completed');
    assert.ok(hints.some((h) => h.queues?.includes(queue)), 'the broadcast naming its queue reached the worker');
    assert.ok(counters.broadcastsRelayed > relayedBefore);
    assert.equal(counters.sent('postgres_changes'), changesBefore);
  });

  test('10,000 jobs in one enqueue_jobs call: at most 0.01 messages per job, and each job runs once', async () => {
    const relayedBefore = counters.broadcastsRelayed;
    const ids = await producer.enqueueMany(Array.from({ length: 10_000 }, (_, i) => ({ task: 'count', payload: { i } })));
    const rows = await waitForJobs(ctx.db, ids, 180_000);
    assert.deepEqual([...rows.values()].filter((r) => r.status !== 'completed').map((r) => r.id), []);
    assert.deepEqual(ids.filter((id) => runs.get(id) !== 1), [], 'jobs not run exactly once');
    const messages = counters.broadcastsRelayed - relayedBefore;
    console.log(`# 10,000 jobs: ${messages} broadcast message(s), ${messages / 10_000} per job`);
    assert.ok(messages >= 1, 'no broadcast was relayed');
    assert.ok(messages / 10_000 <= 0.01, `${messages} messages for 10,000 jobs`);
  });
});
