import { WorkerProcess } from '../../support/worker-process.js';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Leases, run_at and reclaims are decided by the database's clock; the worker's own timers run on
 * the monotonic clock. A step of the worker's wall clock must therefore change nothing.
 */
describe("a jump of the worker's wall clock", () => {
  for (const [label, jumpMs] of [
    ['two hours ahead', 2 * 3_600_000],
    ['two hours back', -2 * 3_600_000],
  ] as const) {
    test(`${label}: leases hold, scheduled jobs run on time, nothing is reclaimed`, async () => {
      const db = await createTestDatabase();
      const worker = await WorkerProcess.spawn({
        DATABASE_URL: db.url,
        TASKS_DIR: path.join(here, 'tasks'),
        LEASE_SECONDS: '5',
        POLL_INTERVAL_MS: '1000',
        RECLAIM_INTERVAL_MS: '300',
        MONITOR_INTERVAL_MS: '0',
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'debug',
        NODE_OPTIONS: `--import=${path.join(here, 'clock-jump.mjs')}`,
        CLOCK_JUMP_MS: String(jumpMs),
        CLOCK_JUMP_AFTER_MS: '4000',
      });
      after(() => worker.stop('SIGKILL'));
      await worker.waitForLog((l) => l.msg === 'worker started', 30_000);
      // Running across the jump, longer than the lease: only heartbeats keep it.
      const { rows: long } = await db.pool.query(`select enqueue_job('long', '{"ms": 9000}') as id`);
      const { rows: scheduled } = await db.pool.query(`select enqueue_job('quick', run_at => now() + interval '5 seconds') as id, now() + interval '5 seconds' as run_at`);
      const { rows: quick } = await db.pool.query(
        "select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'quick')) from generate_series(1, 20)))",
      );
      const ids = [long[0].id, scheduled[0].id, ...quick.map((r) => r.id)];
      const done = await waitForJobs(db, ids, 30_000);
      assert.deepEqual([...new Set([...done.values()].map((j) => `${j.status} after ${j.attempts}`))], ['completed after 1']);
      const lateMs = (done.get(scheduled[0].id)?.started_at as Date).getTime() - (scheduled[0].run_at as Date).getTime();
      assert.ok(lateMs >= 0 && lateMs < 2_500, `the scheduled job started ${lateMs} ms after its run_at (poll: 1000 ms)`);
      const { rows: expired } = await db.pool.query("select count(*)::int as n from job_events where error_code = 'LEASE_EXPIRED'");
      assert.equal(expired[0].n, 0);
      // The jump really happened in the worker: the long job's completion is logged in jumped time.
      const line = worker.lines().find((l) => l.msg === 'job completed' && l.jobId === long[0].id);
      assert.ok(line && Math.abs((line.time as number) - Date.now() - jumpMs) < 60_000, 'the worker logged in jumped time');
      assert.equal(await worker.stop('SIGTERM'), 0);
    });
  }
});
