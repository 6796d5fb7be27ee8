import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import {
  assertSqlState,
  claimOne,
  enqueueOne,
  getEvents,
  getJob,
  inTransaction,
  makeReady,
  uniqueQueue,
  uniqueWorker,
  type JobInput,
} from './queue-sql.js';

const { pool } = await createTestDatabase();

// Microsecond rounding of the interval.
const EPSILON = 1e-6;

/** The retry delay bound: d = min(max, base * 2^(attempt - 1)); the delay lies in [d/2, d]. */
function bound(attempt: number, base = 2, max = 3600): number {
  return Math.min(max, base * 2 ** (Math.max(attempt, 1) - 1));
}

function assertWithin(seconds: number, d: number, what: string): void {
  assert.ok(seconds >= d / 2 - EPSILON && seconds <= d + EPSILON, `${what}: ${seconds} s is not within [${d / 2}, ${d}]`);
}

/** Fails the job as its worker and returns the new status and how far run_at moved, in seconds. */
async function failAndMeasure(id: string, worker: string, retryable = true) {
  return inTransaction(pool, async (client) => {
    const failed = await client.query<{ status: string | null }>(
      "select public.fail_job(id => $1, worker_id => $2, error_code => 'BOOM', error_message => 'it broke', retryable => $3) as status",
      [id, worker, retryable],
    );
    // now() is the transaction's start: the same instant fail_job added the delay to.
    const moved = await client.query<{ delay: number }>(
      'select extract(epoch from run_at - now())::float8 as delay from public.jobs where id = $1',
      [id],
    );
    return { status: failed.rows[0]?.status ?? null, delay: moved.rows[0]?.delay as number };
  });
}

async function runFailingJob(job: Omit<JobInput, 'task' | 'queue'>, failures: number) {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 'flaky', queue, ...job });
  const outcomes: { attempt: number; status: string | null; delay: number }[] = [];
  for (let i = 0; i < failures; i++) {
    await makeReady(pool, [id]);
    const claimed = await claimOne(pool, worker, queue);
    outcomes.push({ attempt: claimed.attempts, ...(await failAndMeasure(id, worker)) });
  }
  return { id, outcomes };
}

test('a retryable failure with attempts left goes back to pending, run_at moved by the backoff', async () => {
  const { id, outcomes } = await runFailingJob({ max_attempts: 5 }, 1);
  assert.equal(outcomes[0]?.status, 'pending');
  assertWithin(outcomes[0]?.delay as number, bound(1), 'attempt 1');
  const job = await getJob(pool, id);
  assert.equal(job.status, 'pending');
  assert.equal(job.attempts, 1);
  assert.equal(job.locked_by, null);
  assert.equal(job.lease_expires_at, null);
  assert.equal(job.failed_at, null);
  assert.equal(job.error_code, 'BOOM');
  assert.equal(job.last_error, 'it broke');
});

test('job_backoff_delay grows by doubling from 2 s, is capped at 3600 s, and is jittered', async () => {
  const { rows } = await pool.query<{ attempt: number; delay: number }>(`
    select a as attempt, extract(epoch from public.job_backoff_delay(attempt => a))::float8 as delay
    from generate_series(-2, 16) a, generate_series(1, 40) sample`);
  for (const { attempt, delay } of rows) assertWithin(delay, bound(attempt), `attempt ${attempt}`);
  const far = await pool.query<{ delay: number }>(
    'select extract(epoch from public.job_backoff_delay(attempt => 1000000))::float8 as delay',
  );
  assertWithin(far.rows[0]?.delay as number, 3600, 'attempt 1000000');
  // Equal jitter: forty samples of one attempt are not all alike, and they spread over the range.
  const sixth = rows.filter((r) => r.attempt === 6).map((r) => r.delay);
  assert.ok(new Set(sixth).size > 1, 'the delay is jittered');
  assert.ok(Math.min(...sixth) < 48 && Math.max(...sixth) > 48, 'samples of [32, 64] lie on both sides of its middle');
});

test('job_backoff_delay takes a base and a cap', async () => {
  const { rows } = await pool.query<{ attempt: number; delay: number }>(`
    select a as attempt, extract(epoch from public.job_backoff_delay(a, 0.5, 30))::float8 as delay
    from generate_series(1, 10) a, generate_series(1, 20) sample`);
  for (const { attempt, delay } of rows) assertWithin(delay, bound(attempt, 0.5, 30), `attempt ${attempt}`);
  const zero = await pool.query<{ delay: number }>('select extract(epoch from public.job_backoff_delay(3, 0, 10))::float8 as delay');
  assert.equal(zero.rows[0]?.delay, 0);
});

test("fail_job uses the job's own backoff columns", async () => {
  const { outcomes } = await runFailingJob({ max_attempts: 10, backoff_base_seconds: 10, backoff_max_seconds: 25 }, 4);
  assert.deepEqual(outcomes.map((o) => [o.attempt, o.status]), [
    [1, 'pending'],
    [2, 'pending'],
    [3, 'pending'],
    [4, 'pending'],
  ]);
  for (const o of outcomes) assertWithin(o.delay, bound(o.attempt, 10, 25), `attempt ${o.attempt}`);
});

test('fail_job without backoff columns grows from the defaults', async () => {
  const { outcomes } = await runFailingJob({ max_attempts: 10 }, 5);
  for (const o of outcomes) assertWithin(o.delay, bound(o.attempt), `attempt ${o.attempt}`);
});

test('out of attempts: failed, with failed_at, error kept and run_at left as it was', async () => {
  const { id, outcomes } = await runFailingJob({ max_attempts: 2 }, 2);
  assert.deepEqual(outcomes.map((o) => o.status), ['pending', 'failed']);
  const job = await getJob(pool, id);
  assert.equal(job.status, 'failed');
  assert.equal(job.attempts, 2);
  assert.ok(job.failed_at);
  assert.equal(job.error_code, 'BOOM');
  assert.equal(job.last_error, 'it broke');
  assert.equal(job.locked_by, null);
  assert.equal(job.lease_expires_at, null);
  assert.ok(job.run_at.getTime() <= job.failed_at.getTime(), 'no backoff for a job that will not run again');
  const last = (await getEvents(pool, id)).at(-1);
  assert.deepEqual(
    last && [last.event, last.from_status, last.to_status, last.attempt, last.error_code, last.message],
    ['failed', 'processing', 'failed', 2, 'BOOM', 'it broke'],
  );
});

test('retryable => false fails at once even with attempts left', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue, max_attempts: 5 });
  await claimOne(pool, worker, queue);
  const { status } = await failAndMeasure(id, worker, false);
  assert.equal(status, 'failed');
  const job = await getJob(pool, id);
  assert.equal(job.attempts, 1);
  assert.ok(job.failed_at);
});

test('the error of a retried attempt stays on the row through the next claim; long messages are cut', async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, worker, queue);
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'TIMEOUT', error_message => $3)", [
    id,
    worker,
    'x'.repeat(20_000),
  ]);
  await makeReady(pool, [id]);
  const again = await claimOne(pool, worker, queue);
  assert.equal(again.error_code, 'TIMEOUT');
  assert.equal(again.last_error?.length, 10_000);
});

test('fail_job checks error_code: 22023', async () => {
  for (const code of ['', null, 'E'.repeat(201)]) {
    await assertSqlState(
      pool.query("select public.fail_job(id => gen_random_uuid(), worker_id => 'w', error_code => $1)", [code]),
      '22023',
      `error_code ${JSON.stringify(code)}`,
    );
  }
});
