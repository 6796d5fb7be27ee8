/** ctx.transaction: the handler's writes commit with the job's completion, or not at all. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { JobError } from '../../../src/errors.js';
import type { Job } from '../../../src/job.js';
import { JobAbort } from '../../../src/queue/job-abort.js';
import { JobWorkflow } from '../../../src/workflow/job-workflow.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

test('writes and completion commit together; a fenced-out attempt rolls its writes back', async () => {
  const db = await createTestDatabase();
  await db.pool.query('create table public.invoices (job_id uuid, attempt int, amount int)');
  await db.pool.query('grant select, insert on public.invoices to service_role');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { worker } = await startTestWorker(db, {
    invoice: async (job, ctx) =>
      ctx.transaction(async (tx) => {
        const { amount, hold } = job.payload as { amount: number; hold?: boolean };
        await tx.query('insert into public.invoices values ($1, $2, $3)', [job.id, ctx.attempt, amount]);
        if (hold && ctx.attempt === 1) await gate;
        return { invoiced: amount };
      }),
  }, { LEASE_SECONDS: '60' });
  const enqueue = async (payload: unknown) => (await db.pool.query("select enqueue_job('invoice', $1::jsonb) as id", [JSON.stringify(payload)])).rows[0].id as string;
  const plain = await enqueue({ amount: 10 });
  const held = await enqueue({ amount: 20, hold: true });
  assert.deepEqual((await waitForJobs(db, [plain])).get(plain)?.result, { invoiced: 10 });
  // The held attempt wrote its row (uncommitted) and waits; meanwhile its lease is taken away.
  await waitUntil(async () => (await db.pool.query("select 1 from jobs where id = $1 and status = 'processing'", [held])).rowCount === 1);
  await db.pool.query("update jobs set lease_expires_at = now() - interval '1 second' where id = $1", [held]);
  await db.pool.query('select reclaim_expired_jobs()');
  release();
  const row = (await waitForJobs(db, [held])).get(held);
  assert.equal(row?.status, 'completed');
  assert.equal(row?.attempts, 2);
  const invoices = (await db.pool.query('select job_id, attempt, amount from invoices order by amount')).rows;
  // One row per job: the fenced-out first attempt's insert rolled back with its refused completion.
  assert.deepEqual(invoices.map((r) => [r.job_id, r.attempt, r.amount]), [[plain, 1, 10], [held, 2, 20]]);
  // Completed once, by the transaction: no fenced-out completion was recorded afterwards.
  const fenced = await worker.metrics.registry.getSingleMetricAsString('supajobs_jobs_fenced_out_total');
  assert.doesNotMatch(fenced, /task="invoice"\} [1-9]/);
});

test('on the supabase transport ctx.transaction fails with TRANSACTION_UNAVAILABLE', async () => {
  const driver = new SupabaseDriver({ url: 'http://127.0.0.1:9', serviceRoleKey: 'unused', realtime: false });
  const workflow = new JobWorkflow({ driver, job: { id: 'j', attempts: 1, stage: null, version: 0 } as Job, workerId: 'w', abort: new JobAbort(), stages: undefined });
  await assert.rejects(workflow.transaction(async () => 1), (error: unknown) => error instanceof JobError && error.code === 'TRANSACTION_UNAVAILABLE' && !error.retryable);
  await driver.stop();
});
