/**
 * A retried dead letter resumes from the stage it was in: the dead letter moved it to its
 * failure (or timeout) stage, and the operator's retry puts it back (20261201000900).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PermanentJobError } from '../../../src/errors.js';
import { defineTask } from '../../../src/queue/task.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs } from '../../support/worker.js';
import { claimOne, enqueueOne, expireLeases, getJob, uniqueQueue, uniqueWorker } from '../sql/queue-sql.js';

const STAGES = {
  initial: 'QUEUED',
  transitions: { QUEUED: ['A'], A: ['B'], B: ['C'], C: ['DONE'] },
  success: 'DONE',
  failure: 'FAILED',
  timeout: 'TIMED_OUT',
};

const db = await createTestDatabase();
const { pool } = db;
const stageEvents = async (id: string) =>
  (await pool.query('select event, stage, attempt from job_events where job_id = $1 order by id', [id])).rows
    .filter((e) => e.event !== 'step' && e.event !== 'enqueued' && e.event !== 'processing')
    .map((e) => `${e.event}:${e.stage}@${e.attempt}`);

test('a job dead-lettered into FAILED from stage B, retried by an operator, resumes from B and completes through its stages', async () => {
  const runs: string[] = [];
  let broken = true;
  const { worker } = await startTestWorker(db, {
    pipeline: defineTask({
      stages: STAGES,
      handler: async (_job, ctx) => {
        // Each stage is the work of one step (docs/workflows.md, "Stages with steps").
        const checkpoint = <T>(stage: string, work: () => T) =>
          ctx.step(stage, async () => {
            await ctx.transition(stage);
            runs.push(`${stage}@${ctx.attempt}`);
            return work();
          });
        await checkpoint('A', () => 1);
        await checkpoint('B', () => {
          if (broken) throw new PermanentJobError('the scanner rejected the file', { code: 'SCANNER_REJECTED' });
          return 2;
        });
        await checkpoint('C', () => 3);
        return { stage: ctx.stage };
      },
    }),
  }, { QUEUES: 'pipelines' });
  const { rows } = await pool.query("select enqueue_job('pipeline', queue => 'pipelines') as id");
  const id = rows[0].id as string;

  const dead = (await waitForJobs(db, [id])).get(id)!;
  assert.equal(dead.status, 'failed');
  assert.equal(dead.error_code, 'SCANNER_REJECTED');
  assert.equal(dead.stage, 'FAILED');

  broken = false;
  assert.equal((await pool.query('select retry_job($1) as ok', [id])).rows[0].ok, true);
  const done = (await waitForJobs(db, [id])).get(id)!;
  assert.equal(done.status, 'completed', `${done.error_code}: ${done.last_error}`);
  assert.equal(done.stage, 'DONE');
  assert.deepEqual(done.result, { stage: 'C' });
  assert.equal(done.stage_before_dead_letter, null);
  // A ran once; B ran again (its step never completed); C and DONE followed on the retry.
  assert.deepEqual(runs, ['A@1', 'B@1', 'B@1', 'C@1']);
  assert.deepEqual(await stageEvents(id), [
    'stage:A@1',
    'stage:B@1',
    'failed:FAILED@1',
    'pending:B@0',
    'stage:C@1',
    'stage:DONE@1',
    'completed:DONE@1',
  ]);
  await worker.stop();
});

test('every retry path restores the stage: retry_jobs after a timeout stage, retry_failed_jobs from the initial stage; nothing else moves', async () => {
  await pool.query(`select register_job_stages('scan', 'QUEUED', $1::jsonb, 'DONE', 'FAILED', 'TIMED_OUT')`, [JSON.stringify(STAGES.transitions)]);
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const expired = await enqueueOne(pool, { task: 'scan', queue, max_attempts: 1 });
  await claimOne(pool, worker, queue);
  await pool.query("select transition_job($1, 'A', worker_id => $2)", [expired, worker]);
  await pool.query("select transition_job($1, 'B', worker_id => $2)", [expired, worker]);
  await expireLeases(pool, [expired]);
  await pool.query('select reclaim_expired_jobs()');
  const timedOut = await getJob(pool, expired);
  assert.equal(`${timedOut.status}:${timedOut.error_code}:${timedOut.stage}:${timedOut.version}`, 'failed:LEASE_EXPIRED:TIMED_OUT:3');

  const untouched = await enqueueOne(pool, { task: 'scan', queue, max_attempts: 1 });
  await claimOne(pool, worker, queue);
  await pool.query("select fail_job($1, $2, 'BOOM', retryable => false)", [untouched, worker]);
  assert.equal((await getJob(pool, untouched)).stage, 'FAILED');

  assert.equal((await pool.query("select retry_jobs(status => 'failed', queue => $1, task => 'scan') as n", [queue])).rows[0].n, 2);
  const resumed = await getJob(pool, expired);
  assert.equal(`${resumed.status}:${resumed.stage}:${resumed.version}`, 'pending:B:4');
  // The job dead-lettered before any stage is back in its initial stage, whose moves apply again.
  const initial = await getJob(pool, untouched);
  assert.equal(`${initial.status}:${initial.stage}`, 'pending:QUEUED');
  await claimOne(pool, worker, queue);
  await claimOne(pool, worker, queue);
  await pool.query("select transition_job($1, 'C', worker_id => $2)", [expired, worker]);
  await pool.query("select transition_job($1, 'A', worker_id => $2)", [untouched, worker]);

  // retry_failed_jobs is a retry like the others.
  await pool.query("select fail_job($1, $2, 'BOOM', retryable => false)", [untouched, worker]);
  assert.equal((await getJob(pool, untouched)).stage, 'FAILED');
  await pool.query('select retry_failed_jobs($1)', [queue]);
  assert.equal((await getJob(pool, untouched)).stage, 'A');

  // A cancelled job was never moved: its retry keeps its stage.
  const cancelled = await enqueueOne(pool, { task: 'scan', queue });
  await pool.query("update jobs set stage = 'A' where id = $1", [cancelled]);
  await pool.query('select cancel_job($1)', [cancelled]);
  await pool.query('select retry_job($1)', [cancelled]);
  const kept = await getJob(pool, cancelled);
  assert.equal(`${kept.status}:${kept.stage}:${kept.version}`, 'pending:A:1');
});
