/**
 * Steps and stages through a real worker, with the same assertions on each transport
 * (workflow-postgres.test.ts, workflow-supabase.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import type { AnyTask } from '../../../src/queue/task.js';
import { defineTask } from '../../../src/queue/task.js';
import { enqueueParent } from '../../../src/workflow/flows.js';
import type { Worker } from '../../../src/worker.js';
import type { TestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';

export type StartWorker = (tasks: Record<string, AnyTask>) => Promise<Worker>;

const SCAN_STAGES = {
  initial: 'QUEUED',
  transitions: { QUEUED: ['FETCHING'], FETCHING: ['ANALYZING'], ANALYZING: ['COMPLETED'] },
  success: 'COMPLETED',
  failure: 'FAILED',
  timeout: 'TIMED_OUT',
};

export function workflowSuite(getDb: () => TestDatabase, startWorker: StartWorker): void {
  const enqueue = async (task: string, args = '') =>
    (await getDb().pool.query(`select enqueue_job($1${args}) as id`, [task])).rows[0].id as string;

  test('a completed step never runs again: not on a retry, not after an operator retry', async () => {
    const runs: Record<string, number> = {};
    const count = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
    await startWorker({
      pipeline: async (_job, ctx) => {
        const a = await ctx.step('download', () => (count('download'), { bytes: 42, at: new Date(0) }));
        const b = await ctx.step('scan', () => (count('scan'), 'clean'));
        const c = await ctx.step('approve', () => {
          count('approve');
          if (ctx.attempt < 3) throw new Error(`approval service down (attempt ${ctx.attempt})`);
          return null;
        });
        return { a, b, c };
      },
    });
    const id = await enqueue('pipeline', ', max_attempts => 2, backoff_base_seconds => 0');
    const first = (await waitForJobs(getDb(), [id])).get(id)!;
    assert.equal(first.status, 'failed');
    assert.deepEqual(runs, { download: 1, scan: 1, approve: 2 });
    // The operator's retry starts again at attempt 1: stored steps still stand.
    await getDb().pool.query('select retry_job($1)', [id]);
    await waitForJobs(getDb(), [id]);
    const row = (await getDb().pool.query('select * from jobs where id = $1', [id])).rows[0];
    // The retry ran attempts 1 and 2 again: only the step that never completed ran (and failed) again.
    assert.deepEqual(runs, { download: 1, scan: 1, approve: 4 });
    assert.equal(row.status, 'failed');
    const steps = (await getDb().pool.query('select name, attempt, result from job_steps where job_id = $1 order by completed_at, name', [id])).rows;
    assert.deepEqual(steps.map((s) => [s.name, s.attempt]), [['download', 1], ['scan', 1]]);
    // The stored value is JSON (a Date became its string), the same on every attempt.
    assert.deepEqual(steps[0].result, { value: { bytes: 42, at: '1970-01-01T00:00:00.000Z' } });
    const events = (await getDb().pool.query("select message from job_events where job_id = $1 and event = 'step' order by id", [id])).rows;
    assert.deepEqual(events.map((e) => e.message), ['step download completed', 'step scan completed']);
  });

  test('a step with a timeout fails the attempt with STEP_TIMEOUT; the retry runs only what is left', async () => {
    const runs: string[] = [];
    await startWorker({
      slow: async (_job, ctx) => {
        await ctx.step('first', () => runs.push('first'));
        return ctx.step('second', async (signal) => {
          runs.push('second');
          if (ctx.attempt === 1) await wait(30_000, undefined, { signal });
          return 'done';
        }, { timeoutMs: 50 });
      },
    });
    const id = await enqueue('slow', ', backoff_base_seconds => 0');
    const row = (await waitForJobs(getDb(), [id])).get(id)!;
    assert.equal(row.status, 'completed');
    assert.equal(row.error_code, 'STEP_TIMEOUT');
    assert.deepEqual(row.result, 'done');
    assert.deepEqual(runs, ['first', 'second', 'second']);
  });

  test('declared stages: moves checked in SQL, success stage on completion, resume on retry, terminal stage on dead letter', async () => {
    await startWorker({
      scan: defineTask({
        stages: SCAN_STAGES,
        handler: async (_job, ctx) => {
          await ctx.transition('FETCHING', { url: 'https://example.test' });
          if (ctx.attempt === 1) throw new Error('network down');
          await ctx.transition('ANALYZING');
          return { stage: ctx.stage, version: ctx.version };
        },
      }),
      skip: defineTask({ stages: SCAN_STAGES, handler: (_job, ctx) => ctx.transition('ANALYZING') }),
      hang: defineTask({ stages: SCAN_STAGES, timeoutMs: 50, handler: (_job, ctx) => wait(30_000, undefined, { signal: ctx.signal }) }),
    });
    const [scan, skip, hang] = [
      await enqueue('scan', ', backoff_base_seconds => 0'),
      await enqueue('skip'),
      await enqueue('hang', ', max_attempts => 1'),
    ];
    const rows = await waitForJobs(getDb(), [scan, skip, hang]);
    const s = rows.get(scan)!;
    assert.equal(s.status, 'completed');
    assert.equal(s.stage, 'COMPLETED');
    assert.deepEqual(s.result, { stage: 'ANALYZING', version: 2 });
    assert.equal(s.version, 3);
    assert.deepEqual(s.progress, { url: 'https://example.test' });
    const events = (await getDb().pool.query("select stage, attempt from job_events where job_id = $1 and event = 'stage' order by id", [scan])).rows;
    assert.deepEqual(events.map((e) => `${e.stage}@${e.attempt}`), ['FETCHING@1', 'ANALYZING@2', 'COMPLETED@2']);
    // A refused move fails the job for good, and the dead letter lands on the failure stage.
    const k = rows.get(skip)!;
    assert.equal(k.status, 'failed');
    assert.equal(k.error_code, 'STAGE_TRANSITION_INVALID');
    assert.equal(k.attempts, 1);
    assert.equal(k.stage, 'FAILED');
    const h = rows.get(hang)!;
    assert.equal(h.error_code, 'TIMEOUT');
    assert.equal(h.stage, 'TIMED_OUT');
  });

  test("a flow through the worker's own transport: children first, then the parent with their results", async () => {
    const worker = await startWorker({
      part: (job) => (job.payload as { n: number }).n,
      whole: async (_job, ctx) => (await ctx.dependencyResults<number>()).map((child) => child.result),
    });
    const { parent, children } = await enqueueParent(worker.driver!, { task: 'whole' }, [{ task: 'part', payload: { n: 1 } }, { task: 'part', payload: { n: 2 } }]);
    const rows = await waitForJobs(getDb(), [parent, ...children]);
    assert.deepEqual(rows.get(parent)?.result, [1, 2]);
    const parentStarted = rows.get(parent)?.started_at as Date;
    for (const child of children) assert.ok((rows.get(child)?.completed_at as Date) <= parentStarted);
  });
}
