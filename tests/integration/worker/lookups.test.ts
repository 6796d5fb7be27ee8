/**
 * The library's look-ups and bulk control (QueueClient over both transports) and the CLI's
 * show, list and wait, on a real database with a worker running the jobs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { QueueClient } from '../../../src/queue/client.js';
import { defineTask } from '../../../src/queue/task.js';
import { createLogger } from '../../../src/logger.js';
import { startTestWorker } from '../../support/worker.js';
import { runCli } from '../../support/worker-process.js';
import { withStandIn } from '../supabase/context.js';

const ctx = await withStandIn();
const { db } = ctx;
const logger = createLogger({ level: 'silent', pretty: false });
const postgres = new PostgresDriver({ connectionString: db.url, logger, poolSize: 2 });
await postgres.start();
db.onDrop(() => postgres.stop());
const supabase = new SupabaseDriver({ url: ctx.standIn.url, serviceRoleKey: ctx.standIn.serviceRoleKey, realtime: false });
ctx.cleanup(() => supabase.stop());
await supabase.start();
const clients = { postgres: new QueueClient(postgres), supabase: new QueueClient(supabase) };

let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));
await startTestWorker(db, {
  ok: defineTask({ handler: (job) => ({ echoed: job.payload }) }),
  boom: defineTask({ maxAttempts: 1, handler: () => { throw new Error('<b>boom</b>'); } }),
  held: defineTask({ handler: () => held.then(() => 'released') }),
}, { QUEUES: 'lookups' });

for (const [transport, client] of Object.entries(clients)) {
  test(`${transport}: getJob returns the row and its history; an unknown or malformed id is null`, async () => {
    const id = await client.enqueue({ task: 'ok', queue: 'lookups', payload: { n: 1 }, groupKey: 'g1' });
    const job = await client.waitForJob(id, { timeoutMs: 20_000 });
    assert.equal(job.status, 'completed');
    const detail = await client.getJob(id);
    assert.ok(detail);
    assert.equal(detail.job.groupKey, 'g1');
    assert.deepEqual(detail.job.result, { echoed: { n: 1 } });
    assert.deepEqual(detail.events.map((e) => e.event), ['enqueued', 'processing', 'completed']);
    assert.ok(detail.events[0]!.createdAt instanceof Date);
    assert.equal(await client.getJob(randomUUID()), null);
    assert.equal(await client.getJob('not-an-id'), null);
  });

  test(`${transport}: listJobs pages newest first by keyset with filters`, async () => {
    const group = `list-${transport}-${randomUUID()}`;
    const ids = await client.enqueueMany(Array.from({ length: 7 }, (_, i) => ({ task: 'nothing', queue: 'idle', groupKey: group, payload: { i } })));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await client.listJobs({ group, status: 'pending' }, { after, limit: 3 });
      seen.push(...page.jobs.map((j) => j.id));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    // One batch shares created_at (one transaction): the id orders them.
    assert.deepEqual(seen, [...ids].sort().reverse());
    assert.equal((await client.groupStats(group)).pending, 7);
    assert.equal(await client.cancelJobs({ group }), 7);
    assert.equal((await client.groupStats(group)).cancelled, 7);
    assert.equal(await client.retryJobs({ group, status: 'cancelled' }), 7);
    assert.equal(await client.cancelJobs({ group }), 7);
  });

  test(`${transport}: waitForJob returns a failed job and times out with WAIT_TIMEOUT`, async () => {
    const failed = await client.enqueue({ task: 'boom', queue: 'lookups' });
    const job = await client.waitForJob(failed, { timeoutMs: 20_000 });
    assert.equal(job.status, 'failed');
    assert.equal(job.lastError, '<b>boom</b>');
    const waiting = await client.enqueue({ task: 'held', queue: 'idle' });
    await assert.rejects(client.waitForJob(waiting, { timeoutMs: 200 }), { code: 'WAIT_TIMEOUT' });
    const overview = await client.overview();
    assert.ok(overview.find((q) => q.queue === 'lookups' && q.failed >= 1 && !q.paused && q.maxRunning === null));
    // A queue's controls are in its overview row, also before it has a job.
    const controlled = `controlled-${transport}`;
    await client.queueControls.pause(controlled);
    await client.queueControls.setLimits(controlled, { maxPerSecond: 3 });
    const row = (await client.overview()).find((q) => q.queue === controlled);
    assert.deepEqual(row && [row.paused, row.maxRunning, row.maxPerSecond, row.pending, row.completionsPerMinute.length], [true, null, 3, 0, 60]);
    const events = await client.events({ limit: 5 });
    assert.equal(events.length, 5);
    assert.ok(events[0]!.id > events[4]!.id);
  });
}

test('CLI: enqueue --group, show, list --json, wait, retry --failed --group', async () => {
  const env = { DATABASE_URL: db.url };
  const group = `cli-${randomUUID()}`;
  const enqueued = await runCli(['enqueue', 'boom', '{"x":1}', '--queue', 'lookups', '--group', group], env);
  assert.equal(enqueued.code, 0, enqueued.stderr);
  const id = enqueued.stdout.trim();
  const waited = await runCli(['wait', id, '--timeout', '20s'], env);
  assert.equal(waited.code, 1, waited.stderr);
  assert.match(waited.stdout, /failed/);
  const shown = await runCli(['show', id], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`group\\s+${group}`));
  assert.match(shown.stdout, /HANDLER_ERROR: <b>boom<\/b>/);
  const listed = await runCli(['list', '--group', group, '--json'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(JSON.parse(listed.stdout).jobs.map((j: { id: string }) => j.id), [id]);
  const retried = await runCli(['retry', '--failed', '--group', group], env);
  assert.match(retried.stdout, /^1 failed jobs queued again/);
  const bad = await runCli(['list', '--status', 'lost'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--status must be one of .*waiting/);
  // A job held for its dependency (the first never runs: its queue has no worker).
  const [, heldId] = await clients.postgres.enqueueFlow([{ ref: 'first', task: 'held', queue: 'idle' }, { task: 'after', queue: 'idle', groupKey: group, dependsOn: ['first'] }]);
  const waitingList = await runCli(['list', '--status', 'waiting', '--group', group, '--json'], env);
  assert.equal(waitingList.code, 0, waitingList.stderr);
  assert.deepEqual(JSON.parse(waitingList.stdout).jobs.map((j: { id: string; status: string }) => [j.id, j.status]), [[heldId, 'waiting']]);
  release();
});
