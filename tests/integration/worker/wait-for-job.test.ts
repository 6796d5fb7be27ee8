/**
 * QueueClient.waitForJob is woken by the transport's notification of the job's end (postgres:
 * NOTIFY on supajobs_finished; supabase: a Realtime UPDATE of the job's row), polling being only
 * the fallback: with a poll interval of 30 s, a waiter resting in its pause that has the job
 * within 10 s can only have been woken by the notification. Both drivers are clients (no
 * wake-ups of their own).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Driver, JobWatch, OperatorFunction } from '../../../src/drivers/driver.js';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { createLogger } from '../../../src/logger.js';
import { QueueClient } from '../../../src/queue/client.js';
import { waitFor } from '../drivers/conformance.js';
import { withStandIn } from '../supabase/context.js';

const ctx = await withStandIn();
const logger = createLogger({ level: 'silent', pretty: false });
const postgres = new PostgresDriver({ connectionString: ctx.db.url, logger, poolSize: 2, listen: false });
const supabase = new SupabaseDriver({ url: ctx.standIn.url, serviceRoleKey: ctx.standIn.serviceRoleKey, realtime: false });
// The worker's side: claims and completes through the SQL functions.
const worker = new PostgresDriver({ connectionString: ctx.db.url, logger, poolSize: 1, listen: false });
for (const driver of [postgres, supabase, worker]) {
  await driver.start();
  ctx.cleanup(() => driver.stop());
}

/** The driver, recording its job watches and counting the client's looks (get_job). */
function observed(driver: Driver) {
  const watches: JobWatch[] = [];
  const looks = { count: 0 };
  const proxy = new Proxy(driver, {
    get(target, key) {
      if (key === 'watchJob') {
        return (id: string, onChange: () => void) => {
          const watch = target.watchJob(id, onChange);
          watches.push(watch);
          return watch;
        };
      }
      if (key === 'operate') {
        return (fn: OperatorFunction, args: Record<string, unknown>) => {
          if (fn === 'get_job') looks.count++;
          return target.operate(fn, args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client: new QueueClient(proxy), watches, looks };
}

/** The wait's outcome, or 'not woken' when it has none after 10 s (a third of the poll pause). */
async function woken(wait: (signal: AbortSignal) => Promise<{ status: string }>): Promise<string> {
  const stop = new AbortController();
  const waiting = wait(stop.signal);
  waiting.catch(() => undefined);
  try {
    return await Promise.race([waiting.then((job) => job.status), sleep(10_000, 'not woken', { signal: stop.signal })]);
  } finally {
    stop.abort();
  }
}

async function runningJob(client: QueueClient, queue: string): Promise<string> {
  const id = await client.enqueue({ task: 't', queue });
  const [job] = await worker.claim({ workerId: 'wait-test', queues: [queue], batchSize: 1, leaseSeconds: 60 });
  assert.equal(job?.id, id);
  return id;
}

for (const [transport, driver] of Object.entries({ postgres, supabase })) {
  test(`${transport}: a waiter resting in a 30 s poll pause is woken by the job's end (completed, failed)`, async () => {
    for (const end of ['completed', 'failed'] as const) {
      const { client, watches, looks } = observed(driver);
      const queue = `wait-${randomUUID()}`;
      const id = await runningJob(client, queue);
      let before = 0;
      const outcome = woken(async (signal) => {
        const waiting = client.waitForJob(id, { pollMs: 30_000, timeoutMs: 60_000, signal });
        await waitFor(() => watches[0]?.live === true);
        // Resting: no look for a while (the looks of the watch's start are over).
        before = looks.count;
        for (;;) {
          await sleep(500);
          if (looks.count === before) break;
          before = looks.count;
        }
        if (end === 'completed') await worker.complete('wait-test', [{ id, attempt: 1 }]);
        else await worker.fail('wait-test', { id, attempt: 1, errorCode: 'E', message: 'x', retryable: false });
        return waiting;
      });
      assert.equal(await outcome, end);
      assert.equal(looks.count, before + 1, 'one look, the one the notification asked for');
    }
  });

  test(`${transport}: a waiter whose job is cancelled while pending is woken; the watch stops with the wait`, async () => {
    const { client, watches } = observed(driver);
    const id = await client.enqueue({ task: 't', queue: `idle-${randomUUID()}` });
    const outcome = woken(async (signal) => {
      const waiting = client.waitForJob(id, { pollMs: 30_000, timeoutMs: 60_000, signal });
      await waitFor(() => watches[0]?.live === true);
      await sleep(1_000);
      assert.equal(await client.cancel(id), true);
      return waiting;
    });
    assert.equal(await outcome, 'cancelled');
    assert.equal(watches[0]?.live, false);
  });
}

test('postgres: a wait that times out leaves no waiter behind', async () => {
  const { client, watches } = observed(postgres);
  const id = await client.enqueue({ task: 't', queue: `idle-${randomUUID()}` });
  await assert.rejects(client.waitForJob(id, { timeoutMs: 1_000 }), { code: 'WAIT_TIMEOUT' });
  assert.equal(watches.length, 1);
  await waitFor(async () => (await ctx.db.pool.query('select 1 from job_waiters where job_id = $1', [id])).rowCount === 0);
});
