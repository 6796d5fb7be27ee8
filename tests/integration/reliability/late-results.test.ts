import { WorkerProcess } from '../../support/worker-process.js';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';
import { startProcessor } from './processor-under-faults.js';
import block from './tasks/block.js';
import quick from './tasks/quick.js';

const TASKS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tasks');

const enqueue = async (db: TestDatabase, task: string, payload: unknown = {}, extra = '') =>
  (await db.pool.query(`select enqueue_job($1, $2::jsonb${extra}) as id`, [task, JSON.stringify(payload)])).rows[0].id as string;

const completions = async (db: TestDatabase, id: string) =>
  (await db.pool.query("select worker_id from job_events where job_id = $1 and event = 'completed'", [id])).rows.map((r) => r.worker_id);

describe('late results', () => {
  test('a handler that ignores its abort signal: once its lease is lost, its late result changes nothing', async () => {
    const db = await createTestDatabase();
    let finishedLate = false;
    let holding = false;
    const first = await startProcessor(
      db,
      {
        stubborn: async () => {
          await sleep(3_000); // ignores ctx.signal
          finishedLate = true;
          return 'from the first worker';
        },
      },
      // Once it holds the job it claims nothing more, so that the job can only go to the second worker.
      { overrides: (real) => ({ claim: async (request) => (holding ? [] : real.claim(request).then((jobs) => ((holding = jobs.length > 0), jobs))) }) },
    );
    const id = await enqueue(db, 'stubborn');
    await waitUntil(async () => (await db.pool.query('select locked_by from jobs where id = $1', [id])).rows[0].locked_by === first.workerId);
    // Its lease runs out (as when heartbeats cannot get through) and another worker finishes the job.
    await db.pool.query("update jobs set lease_expires_at = now() - interval '1 second' where id = $1", [id]);
    const second = await startProcessor(db, { stubborn: () => 'from the second worker' });
    const row = (await waitForJobs(db, [id])).get(id) as Record<string, unknown>;
    assert.deepEqual([row.status, row.result, row.attempts, row.locked_by], ['completed', 'from the second worker', 2, second.workerId]);
    await waitUntil(() => first.logs.lines().some((l) => l.msg === 'lease lost (reclaimed or cancelled); aborting the handler'));
    await waitUntil(() => finishedLate, 10_000);
    await sleep(300);
    const after = (await db.pool.query('select status, result, attempts from jobs where id = $1', [id])).rows[0];
    assert.deepEqual(after, { status: 'completed', result: 'from the second worker', attempts: 2 });
    assert.deepEqual(await completions(db, id), [second.workerId]);
    assert.ok(first.logs.lines().some((l) => l.msg === 'job aborted' && l.cause === 'lease-lost'));
  });

  test('a handler that ignores its timeout fails with TIMEOUT; its late result is not stored', async () => {
    const db = await createTestDatabase();
    let returned = false;
    await startProcessor(db, {
      deaf: {
        timeoutMs: 200,
        handler: async () => {
          await sleep(1_000);
          returned = true;
          return 'too late';
        },
      },
    });
    const id = await enqueue(db, 'deaf', {}, ', max_attempts => 1');
    const row = (await waitForJobs(db, [id])).get(id) as Record<string, unknown>;
    assert.deepEqual([row.status, row.error_code, row.result], ['failed', 'TIMEOUT', null]);
    await waitUntil(() => returned);
    await sleep(300);
    assert.deepEqual((await db.pool.query('select status, result from jobs where id = $1', [id])).rows[0], { status: 'failed', result: null });
    assert.deepEqual(await completions(db, id), []);
  });

  test('an event loop blocked longer than the lease: the job is reclaimed and done elsewhere; the old completion is fenced out', async () => {
    const db = await createTestDatabase();
    const blocked = await WorkerProcess.spawn({
      DATABASE_URL: db.url,
      TASKS_DIR,
      WORKER_ID: 'blocked-worker',
      LEASE_SECONDS: '5',
      POLL_INTERVAL_MS: '300',
      MONITOR_INTERVAL_MS: '0',
      MIGRATE_ON_START: 'false',
    });
    after(() => blocked.stop('SIGKILL'));
    await blocked.waitForLog((l) => l.msg === 'worker started', 30_000);
    const id = await enqueue(db, 'block', { ms: 8_000 });
    await waitUntil(async () => (await db.pool.query('select locked_by from jobs where id = $1', [id])).rows[0].locked_by === 'blocked-worker');
    const { worker: other } = await startTestWorker(db, { block, quick }, { WORKER_ID: 'other-worker', RECLAIM_INTERVAL_MS: '200', POLL_INTERVAL_MS: '200' });
    const row = (await waitForJobs(db, [id], 15_000)).get(id) as Record<string, unknown>;
    assert.deepEqual([row.status, row.attempts, row.result], ['completed', 2, { by: 'other-worker', attempt: 2 }]);
    // The blocked worker wakes up, finishes attempt 1 and tries to complete it: refused.
    await blocked.waitForLog((l) => l.msg === 'outcome refused: this worker no longer held the job', 15_000);
    assert.match((await blocked.get('/metrics')).body, /supajobs_jobs_fenced_out_total\{task="block"\} 1/);
    assert.deepEqual((await db.pool.query('select status, attempts, result from jobs where id = $1', [id])).rows[0], {
      status: 'completed',
      attempts: 2,
      result: { by: 'other-worker', attempt: 2 },
    });
    assert.deepEqual(await completions(db, id), ['other-worker']);
    // Both keep working.
    const next = await enqueue(db, 'quick');
    assert.equal((await waitForJobs(db, [next])).get(next)?.status, 'completed');
    assert.equal(await blocked.stop('SIGTERM'), 0);
    await other.stop();
  });
});
