/**
 * A schedule that ticks every second, fired by three workers at once (two in this process, one a
 * child process) for about 16 s; halfway, the child is killed with SIGKILL and another worker
 * started. The child is the only one claiming in the first half, so it dies holding jobs. Each tick must be one job: none twice, none missing from the first tick to the last.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from '../../../src/worker.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker } from '../../support/worker.js';
import { WorkerProcess } from '../../support/worker-process.js';

const PHASE_MS = 8_000;

test('three workers, one killed and replaced: one job per tick, none twice, none missed', async () => {
  const db = await createTestDatabase();
  const { rows: [schedule] } = await db.pool.query("select since from schedule_job(name => 'every-second', cron => '* * * * * *', task => 'noop')");
  const tasks = { noop: () => undefined };
  // The first two fire ticks but claim from another queue, so in the first phase the child is the
  // one that runs the jobs (and holds some when it is killed); the third claims from every queue.
  const elsewhere = { QUEUES: 'elsewhere' };
  const inProcess: Worker[] = [];
  inProcess.push(
    (await startTestWorker(db, tasks, { WORKER_ID: 'in-process-1', ...elsewhere })).worker,
    (await startTestWorker(db, tasks, { WORKER_ID: 'in-process-2', ...elsewhere })).worker,
  );
  const child = await WorkerProcess.spawn({
    DATABASE_URL: db.url,
    WORKER_ID: 'child',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    MONITOR_INTERVAL_MS: '0',
  });
  db.onDrop(() => child.stop('SIGKILL'));
  await child.waitForLog((line) => line.msg === 'worker started', 60_000);
  await sleep(PHASE_MS);
  await child.stop('SIGKILL');
  inProcess.push((await startTestWorker(db, tasks, { WORKER_ID: 'in-process-3' })).worker);
  await sleep(PHASE_MS);
  const { rows: [end] } = await db.pool.query('select now() as t');
  await Promise.all(inProcess.map((w) => w.stop()));

  const { rows } = await db.pool.query<{ job_key: string; id: string }>(
    "select id, job_key from jobs where job_key like 'schedule:every-second@%' order by job_key");
  const ticks = rows.map((r) => Date.parse(r.job_key.slice('schedule:every-second@'.length)));
  assert.equal(new Set(ticks).size, ticks.length, 'a tick enqueued twice');
  const first = Math.floor(schedule.since.getTime() / 1000) * 1000 + 1000;
  assert.equal(ticks[0], first, 'the first tick after the schedule was made');
  for (let i = 1; i < ticks.length; i++) {
    assert.equal(ticks[i], (ticks[i - 1] as number) + 1000, `tick missing after ${new Date(ticks[i - 1] as number).toISOString()}`);
  }
  // Up to the end: at most the last second or two may have come due while the workers stopped.
  assert.ok((ticks.at(-1) as number) >= end.t.getTime() - 2_000, `last tick ${new Date(ticks.at(-1) as number).toISOString()}, end ${end.t.toISOString()}`);
  assert.ok(ticks.length >= (2 * PHASE_MS) / 1000, `${ticks.length} ticks`);
  // Each job completed at most once (the killed worker's wait for their leases to expire).
  const { rows: twice } = await db.pool.query(
    "select job_id from job_events where job_id = any($1::uuid[]) and event = 'completed' group by job_id having count(*) > 1", [rows.map((r) => r.id)]);
  assert.deepEqual(twice, []);
  // The child ran the first phase's jobs before it was killed, and the replacement ran the rest.
  const { rows: byWorker } = await db.pool.query<{ worker_id: string }>(
    "select distinct worker_id from job_events where event = 'processing' and job_id = any($1::uuid[])", [rows.map((r) => r.id)]);
  assert.deepEqual(byWorker.map((r) => r.worker_id).sort(), ['child', 'in-process-3']);
});
