/**
 * examples/coding-jobs, end to end on the supabase transport through the stand-in: end users
 * (real supabase-js, their own JWTs) submit jobs with the example's client code, through RLS, and
 * get the priority of their plan, set by the database; the example's worker program (a child
 * process, service role) runs them highest tier first while each owner's Realtime subscription
 * sees the stage and progress of their own jobs only, and the worker logs queue statistics. A
 * SIGTERM while two jobs run lets the short one finish and gives the long one back; the next worker
 * resumes it after its last completed step, and no job is lost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { submitCodingJob, watchMyJobs, type CodingJob } from '../../examples/coding-jobs/client.js';
import { withStandIn } from '../integration/supabase/context.js';
import { userToken } from '../support/jwt.js';
import { WorkerProcess } from '../support/worker-process.js';
import { waitForJobs, waitUntil } from '../support/worker.js';

const WORKER = 'examples/coding-jobs/worker.ts';
const ctx = await withStandIn();
const { db, standIn } = ctx;
await db.pool.query(await readFile('examples/coding-jobs/schema.sql', 'utf8'));

const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
// The billing side, as the app's backend writes it: alice pays for pro, carol for enterprise, bob nothing.
await db.pool.query("insert into billing.subscriptions (user_id, plan) values ($1, 'pro'), ($2, 'enterprise')", [alice, carol]);

/** An end user's supabase-js client, signed in (their token on every request and on Realtime). */
async function signedIn(sub: string): Promise<SupabaseClient> {
  const token = userToken(sub);
  const supabase = ctx.client(standIn.anonKey, { accessToken: async () => token });
  await supabase.realtime.setAuth(token);
  return supabase;
}

const users = { alice: await signedIn(alice), bob: await signedIn(bob), carol: await signedIn(carol) };
const request = (files: number) => ({ repo: 'acme/web', prompt: 'add input validation', files: Array.from({ length: files }, (_, i) => `src/form-${i}.ts`) });

const workers: WorkerProcess[] = [];
ctx.cleanup(() => Promise.all(workers.map((w) => w.stop('SIGKILL'))));

async function startWorker(name: string, env: Record<string, string>): Promise<WorkerProcess> {
  const worker = await WorkerProcess.start({
    TRANSPORT: 'supabase',
    SUPABASE_URL: standIn.url,
    SUPABASE_SERVICE_ROLE_KEY: standIn.serviceRoleKey,
    WORKER_ID: name,
    POLL_INTERVAL_MS: '500',
    MONITOR_INTERVAL_MS: '0',
    ...env,
  }, WORKER);
  workers.push(worker);
  return worker;
}

/** Every change each user's subscription delivers, from now on. */
async function follow(supabase: SupabaseClient): Promise<CodingJob[]> {
  const seen: CodingJob[] = [];
  ctx.cleanup(await watchMyJobs(supabase, (job) => seen.push(job)));
  return seen;
}

const submitted: Record<'alice' | 'bob' | 'carol', CodingJob> = {} as never;

test('end users submit through RLS; the database gives each job the priority of its owner\'s plan', async () => {
  for (const name of ['bob', 'alice', 'carol'] as const) submitted[name] = await submitCodingJob(users[name], request(3));
  assert.deepEqual(
    Object.values(submitted).map((j) => [j.status, j.priority]),
    [['pending', 0], ['pending', 5], ['pending', 10]],
    'free 0, pro 5, enterprise 10',
  );
  const { rows } = await db.pool.query('select user_id, queue, max_attempts from jobs where id = $1', [submitted.alice.id]);
  assert.deepEqual(rows, [{ user_id: alice, queue: 'coding', max_attempts: 3 }]);

  // A client cannot choose its priority, nor enqueue another task.
  const ownPriority = await users.bob.from('jobs').insert({ task: 'coding-job', payload: request(1), priority: 10 }).select('id');
  assert.equal(ownPriority.error?.code, '42501');
  const otherTask = await users.bob.from('jobs').insert({ task: 'send-invoices', payload: {} }).select('id');
  assert.equal(otherTask.error?.code, '42501');
  // Nor can it change the plan its jobs are ranked by (billing is not exposed; job_user_tiers is the service's).
  const upgrade = await users.bob.from('job_user_tiers').insert({ user_id: bob, tier: 'enterprise' }).select('user_id');
  assert.equal(upgrade.error?.code, '42501', 'a user wrote their own tier');
});

test('the worker runs them highest tier first; each owner follows stage and progress of their own jobs live; statistics are logged', async () => {
  const [aliceSees, bobSees] = [await follow(users.alice), await follow(users.bob)];
  const worker = await startWorker('coding-1', { MAX_CONCURRENT_JOBS: '1', AGENT_STEP_MS: '100', MONITOR_INTERVAL_MS: '300' });
  const ids = Object.values(submitted).map((j) => j.id);
  const done = await waitForJobs(db, ids, 30_000);
  assert.ok([...done.values()].every((j) => j.status === 'completed'));
  const started = [...done.values()].sort((a, b) => a.started_at - b.started_at).map((j) => j.user_id);
  assert.deepEqual(started, [carol, alice, bob], 'enterprise, then pro, then free');

  const mine = (seen: CodingJob[], id: string) => seen.filter((j) => j.id === id);
  await waitUntil(() => mine(aliceSees, submitted.alice.id).some((j) => j.status === 'completed'), 10_000);
  const timeline = mine(aliceSees, submitted.alice.id);
  const stages = timeline.map((j) => j.stage).filter((s, i, all) => s !== null && s !== all[i - 1]);
  assert.deepEqual(stages, ['planning', 'editing', 'testing', 'done']);
  const percents = timeline.map((j) => j.progress?.percent).filter((p) => p !== undefined);
  assert.deepEqual(percents, [...percents].sort((a, b) => (a as number) - (b as number)), 'progress only grows');
  assert.ok(percents.length >= 5 && percents.at(-1) === 100, `progress seen: ${percents.join(', ')}`);
  assert.deepEqual(timeline.at(-1)?.result, { repo: 'acme/web', changed: ['src/form-0.ts', 'src/form-1.ts', 'src/form-2.ts'] });
  assert.ok(!('locked_by' in (timeline.at(-1) as object)), 'the worker\'s columns reach no user');
  // Each owner sees their own jobs only.
  assert.deepEqual(new Set(aliceSees.map((j) => j.id)), new Set([submitted.alice.id]));
  await waitUntil(() => mine(bobSees, submitted.bob.id).some((j) => j.status === 'completed'), 10_000);
  assert.deepEqual(new Set(bobSees.map((j) => j.id)), new Set([submitted.bob.id]));

  // QueueMonitor: a statistics line per interval, the coding queue's counts in it.
  const stats = await worker.waitForLog((l) => l.msg === 'queue statistics' && (l.queues as { queue: string; completed: number }[]).some((q) => q.queue === 'coding' && q.completed === 3));
  assert.equal(stats.pending, 0);
  assert.ok(worker.lines().filter((l) => l.msg === 'queue statistics').length >= 2);
  assert.equal(await worker.stop('SIGTERM'), 0);
});

// 42 steps of 200 ms: far longer than the drain of 4 s; the short job needs 3.
const LONG_FILES = 40;
const LONG_STEPS = LONG_FILES + 2;

test('SIGTERM while jobs run: the short one finishes, the long one is given back and the next worker resumes it', async () => {
  const aliceSees = await follow(users.alice);
  const worker = await startWorker('coding-2', { MAX_CONCURRENT_JOBS: '2', AGENT_STEP_MS: '200', SHUTDOWN_TIMEOUT_MS: '4000' });
  const short = await submitCodingJob(users.alice, request(1));
  const long = await submitCodingJob(users.alice, request(LONG_FILES));
  const running = async () => (await db.pool.query("select count(*)::int as n from jobs where id = any($1::uuid[]) and status = 'processing' and stage is not null", [[short.id, long.id]])).rows[0].n === 2;
  await waitUntil(running, 15_000);

  assert.equal(await worker.stop('SIGTERM'), 0, 'a graceful stop exits 0');
  const { rows: after } = await db.pool.query('select id, status, attempts, error_code, locked_by from jobs where id = any($1::uuid[])', [[short.id, long.id]]);
  const row = (id: string) => after.find((r) => r.id === id);
  assert.equal(row(short.id)?.status, 'completed', 'the short job finished within SHUTDOWN_TIMEOUT_MS');
  assert.deepEqual(row(long.id), { id: long.id, status: 'pending', attempts: 0, error_code: 'RELEASED', locked_by: null }, 'given back, the attempt not counted');
  const { rows: doneBefore } = await db.pool.query<{ name: string }>('select name from job_steps where job_id = $1', [long.id]);
  assert.ok(doneBefore.length >= 1 && doneBefore.length < LONG_STEPS, `steps stored before the stop: ${doneBefore.length}`);

  await startWorker('coding-3', { MAX_CONCURRENT_JOBS: '2', AGENT_STEP_MS: '50' });
  const [finished] = [...(await waitForJobs(db, [long.id], 20_000)).values()];
  assert.equal(finished?.status, 'completed');
  const { rows: steps } = await db.pool.query<{ worker_id: string; n: number }>(
    'select worker_id, count(*)::int as n from job_steps where job_id = $1 group by worker_id order by worker_id',
    [long.id],
  );
  assert.deepEqual(steps, [{ worker_id: 'coding-2', n: doneBefore.length }, { worker_id: 'coding-3', n: LONG_STEPS - doneBefore.length }], 'the next worker ran only the steps left');
  await waitUntil(() => aliceSees.some((j) => j.id === long.id && j.status === 'completed'), 10_000);
  // None lost: every job anyone submitted completed.
  const { rows: left } = await db.pool.query("select count(*)::int as n from jobs where task = 'coding-job' and status <> 'completed'");
  assert.equal(left[0].n, 0);
});
