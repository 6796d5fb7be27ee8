import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from '../../../src/worker.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

// A database of its own: its listeners are this file's workers only.
const db = await createTestDatabase();

/** Polling an hour apart: a job starts only if a wake-up reached a worker that could take it. */
const NO_POLL = { POLL_INTERVAL_MS: '3600000' };

async function counter(worker: Worker, name: string): Promise<number> {
  const metric = await worker.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

async function enqueueOne(task: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>("select id from public.enqueue_jobs(jsonb_build_array(jsonb_build_object('task', $1::text)))", [task]);
  return rows[0]?.id as string;
}

const listening = (n: number) => waitUntil(async () => (await db.pool.query('select count(*)::int as n from supajobs.wake_up_listeners')).rows[0].n >= n);

test('a fleet wakes one worker per job: single inserts start at once with few empty claims, and a busy worker passes its wake-up on', async () => {
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  // Jobs of 60 ms: long enough that no worker claims ahead of its free slots (prefetch is for
  // jobs shorter than 50 ms), so a busy worker cannot take a job it was told of.
  const tasks = { quick: async () => sleep(60), hold: () => blocked };
  const workers = await Promise.all([1, 2, 3, 4].map(() => startTestWorker(db, tasks, { ...NO_POLL, MAX_CONCURRENT_JOBS: '2' })));
  await listening(4);
  const before = await Promise.all(workers.map(({ worker }) => counter(worker, 'supajobs_claims_empty_total')));
  const claimsBefore = await Promise.all(workers.map(({ worker }) => counter(worker, 'supajobs_claims_total')));

  // A trickle of single jobs: each wakes one worker, which claims it.
  const quick: string[] = [];
  for (let i = 0; i < 24; i++) {
    quick.push(await enqueueOne('quick'));
    await sleep(100);
  }
  await waitForJobs(db, quick, 10_000);
  const empty = (await Promise.all(workers.map(({ worker }) => counter(worker, 'supajobs_claims_empty_total')))).reduce((s, n, i) => s + n - (before[i] ?? 0), 0);
  const claims = (await Promise.all(workers.map(({ worker }) => counter(worker, 'supajobs_claims_total')))).reduce((s, n, i) => s + n - (claimsBefore[i] ?? 0), 0);
  // Every wake-up to every worker would be 4 claims a job, 3 of them empty.
  console.log(`claims ${claims}, empty ${empty}, for ${quick.length} jobs`);
  assert.ok(claims <= quick.length * 1.25, `claims ${claims} for ${quick.length} jobs`);
  assert.ok(empty <= quick.length * 0.25, `empty claims ${empty} of ${claims}`);

  // Six of the eight slots held: whichever worker is told of the next jobs, they start in a free
  // slot, with no poll to fall back on (a full worker passes the wake-up on).
  const holds: string[] = [];
  for (let i = 0; i < 6; i++) {
    holds.push(await enqueueOne('hold'));
    await waitUntil(async () => (await db.pool.query("select count(*)::int as n from jobs where id = any($1::uuid[]) and status = 'processing'", [holds])).rows[0].n === holds.length, 5_000);
  }
  try {
    const more: string[] = [];
    for (let i = 0; i < 8; i++) {
      more.push(await enqueueOne('quick'));
      await waitForJobs(db, more, 5_000);
    }
  } finally {
    release();
  }
  await waitForJobs(db, holds, 10_000);
});

test('a worker told of one job claims one, though it has room for more and more are ready', async () => {
  const queue = 'told-of-one';
  const { rows: before } = await db.pool.query<{ pid: number }>('select pid from supajobs.wake_up_listeners');
  const { worker } = await startTestWorker(db, { work: () => undefined }, { ...NO_POLL, QUEUES: queue, MAX_CONCURRENT_JOBS: '8' });
  await listening(before.length + 1);
  const { rows } = await db.pool.query<{ pid: number }>('select pid from supajobs.wake_up_listeners where pid <> all ($1::int[])', [before.map((r) => r.pid)]);
  assert.equal(rows.length, 1);
  const channel = `supajobs_jobs_${rows[0]?.pid}`;

  // Five ready jobs that no wake-up announced: enqueued for later, then made due by hand (a change
  // of run_at alone notifies nobody) once the worker has answered the enqueue's wake-up (a
  // hint with a next run_at makes it claim, finding nothing, and set a timer an hour off).
  const emptyAtStart = await counter(worker, 'supajobs_claims_empty_total');
  const { rows: jobs } = await db.pool.query<{ id: string }>(
    "select id from public.enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'work', 'queue', $1::text, 'run_at', now() + interval '1 hour')) from generate_series(1, 5)))",
    [queue],
  );
  const ids = jobs.map((j) => j.id);
  await waitUntil(async () => (await counter(worker, 'supajobs_claims_empty_total')) > emptyAtStart, 5_000);
  await db.pool.query('update public.jobs set run_at = now() where id = any ($1::uuid[])', [ids]);
  const claimsBefore = await counter(worker, 'supajobs_claims_total');

  // Told of one job, as the database tells a worker it chose alone: one claim, for one job.
  await db.pool.query('select pg_notify($1, $2)', [channel, JSON.stringify({ queues: [queue], count: 1, next_run_at: null })]);
  await waitUntil(async () => (await counter(worker, 'supajobs_claims_total')) > claimsBefore, 5_000);
  const taken = async () => (await db.pool.query<{ n: number }>("select count(*)::int as n from jobs where id = any ($1::uuid[]) and status <> 'pending'", [ids])).rows[0]?.n;
  await waitUntil(async () => (await taken()) === 1, 5_000);
  await sleep(300); // a second claim, had one followed, would have been sent by now
  assert.equal(await taken(), 1);
  assert.equal(await counter(worker, 'supajobs_claims_total'), claimsBefore + 1);

  // A wake-up to every worker is for as many jobs as there is room for.
  await db.pool.query("select pg_notify('supajobs_jobs', $1)", [JSON.stringify({ queues: [queue], count: 4, next_run_at: null })]);
  await waitForJobs(db, ids, 10_000);
});
