/**
 * A real Worker (loadConfig, driver, processor) on the supabase transport, through the stand-in:
 * every queue operation is an RPC through PostgREST, every wake-up a Realtime change. The poll
 * interval is 60 s, longer than this file runs, so only Realtime (and the poll hint after each
 * (re)subscription) can start a job. Each job must run exactly once, through dropped sockets and
 * injected 503s, and no log line may hold the service key (the logger is given no secrets to mask:
 * the key must never reach it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../src/config.js';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { Worker } from '../../../src/worker.js';
import { captureLogs } from '../../support/logs.js';
import { waitForJobs, waitUntil } from '../../support/worker.js';
import { withStandIn } from './context.js';

const ctx = await withStandIn();
const { standIn, db } = ctx;

/** Executions per job id. */
const runs = new Map<string, number>();
const logs = captureLogs({ level: 'debug' });
const config = loadConfig({
  TRANSPORT: 'supabase',
  SUPABASE_URL: standIn.url,
  SUPABASE_SERVICE_ROLE_KEY: standIn.serviceRoleKey,
  WORKER_ID: 'supabase-e2e-worker',
  HEALTH_CHECK_PORT: '0',
  HEALTH_CHECK_HOST: '127.0.0.1',
  MONITOR_INTERVAL_MS: '0',
  MAX_CONCURRENT_JOBS: '16',
  POLL_INTERVAL_MS: '60000',
  LOG_LEVEL: 'debug',
});
const worker = new Worker({
  config,
  logger: logs.logger,
  tasks: {
    e2e: async (job) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      const { ms } = (job.payload ?? {}) as { ms?: number };
      if (ms) await sleep(ms);
    },
  },
});
const producer = new SupabaseDriver({ url: standIn.url, serviceRoleKey: standIn.serviceRoleKey, realtime: false });
ctx.cleanup(async () => {
  await worker.stop();
  await producer.stop();
});
await producer.start();
await worker.start();

const isLive = () => worker.driver?.wakeUps.mode === 'live';

async function completedEvents(ids: string[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    "select count(*)::int as n from job_events where event = 'completed' and job_id = any($1::uuid[])",
    [ids],
  );
  return rows[0]?.n ?? 0;
}

/** Every job completed, each run exactly once and recorded completed exactly once. */
async function assertEachCompletedOnce(ids: string[], timeoutMs: number): Promise<void> {
  const rows = await waitForJobs(db, ids, timeoutMs);
  for (const row of rows.values()) assert.equal(row.status, 'completed', `job ${row.id} is ${row.status}`);
  assert.deepEqual(
    ids.filter((id) => runs.get(id) !== 1),
    [],
    'jobs not run exactly once',
  );
  assert.equal(await completedEvents(ids), ids.length);
}

test('a job enqueued after the wake-ups are live starts through Realtime, long before a poll', async () => {
  await waitUntil(isLive, 10_000);
  const changesBefore = standIn.counters.sent('postgres_changes');
  const [id] = await producer.enqueueMany([{ task: 'e2e', payload: {} }]);
  // POLL_INTERVAL_MS is 60 s: only the Realtime change can start it within this bound.
  await assertEachCompletedOnce([id as string], 15_000);
  assert.ok(standIn.counters.sent('postgres_changes') > changesBefore, 'no Realtime change was sent');
});

test('500 jobs enqueued in one enqueue_jobs call all complete, each exactly once', async () => {
  const callsBefore = standIn.counters.rpc('enqueue_jobs');
  const ids = await producer.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ task: 'e2e', payload: { i } })));
  assert.equal(ids.length, 500);
  assert.equal(standIn.counters.rpc('enqueue_jobs'), callsBefore + 1);
  await assertEachCompletedOnce(ids, 30_000);
});

test('sockets dropped while jobs flow: nothing lost, each job once, the channel resubscribes', async () => {
  await waitUntil(isLive, 10_000);
  const joinsBefore = standIn.counters.joins;
  const socketsBefore = standIn.counters.socketsOpened;
  const ids: string[] = [];
  const producing = (async () => {
    for (let batch = 0; batch < 30; batch++) {
      ids.push(...(await producer.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: 'e2e', payload: { batch, i, ms: 2 } })))));
      await sleep(25);
    }
  })();
  await sleep(200);
  standIn.dropSockets();
  await sleep(400);
  standIn.dropSockets();
  await producing;
  assert.equal(ids.length, 300);
  await assertEachCompletedOnce(ids, 30_000);
  await waitUntil(isLive, 15_000);
  assert.ok(standIn.counters.socketsOpened > socketsBefore, 'no new socket was opened');
  assert.ok(standIn.counters.joins > joinsBefore, 'the channel did not rejoin');
  // Resubscribed for real: a new job still starts without a poll.
  const [late] = await producer.enqueueMany([{ task: 'e2e', payload: {} }]);
  await assertEachCompletedOnce([late as string], 15_000);
});

test('RPC 503s for a few calls are retried (above the driver, by the part that made the call) and nothing is lost', async () => {
  const faultsBefore = standIn.counters.rpcFaults;
  // Failed calls are logged by their caller (claims, outcomes, leases), with the error; a run of failed claims once.
  const failedCalls = () => logs.lines().filter((l) => l.err !== undefined && JSON.stringify(l.err).includes('HTTP 503')).length;
  const warnedBefore = failedCalls();
  // Enqueued by SQL, so that the faults fall on the worker's calls (claim, complete).
  const { rows } = await db.pool.query<{ id: string }>(
    "select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'e2e', 'payload', jsonb_build_object('n', n))) from generate_series(1, 50) n))",
  );
  standIn.failNextRpc(3, 503);
  const ids = rows.map((r) => r.id);
  assert.equal(ids.length, 50);
  await assertEachCompletedOnce(ids, 20_000);
  assert.equal(standIn.counters.rpcFaults, faultsBefore + 3);
  assert.ok(failedCalls() > warnedBefore, 'the failed calls were logged');
});

test('no log line holds the service key', () => {
  const text = logs.text();
  assert.ok(logs.lines().some((l) => l.msg === 'worker started'), 'the logs were not captured');
  assert.ok(!text.includes(standIn.serviceRoleKey), 'the service key was logged');
  // Nor any of its three JWT parts alone (the signature is the secret part).
  for (const part of standIn.serviceRoleKey.split('.').slice(1)) assert.ok(!text.includes(part), 'part of the service key was logged');
});
