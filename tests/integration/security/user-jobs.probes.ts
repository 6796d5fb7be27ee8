/**
 * End users' own jobs: their job_key namespace is apart from the service's, dedup considers the
 * task, they cancel only what they inserted, and what they insert is bounded (payload size, live
 * jobs per plan, run_at between now and their plan's horizon).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { enqueueOne, getJob, type JobRow } from '../sql/queue-sql.js';
import { USER_JOB_COLUMNS } from './privileges.probes.js';
import { refusedWith, type Probe, type ProbeContext } from './probe.js';

/** A task end users may enqueue, in a queue of its own. */
async function clientTask(ctx: ProbeContext, maxAttempts = 3): Promise<string> {
  const task = `user-task-${randomUUID().slice(0, 8)}`;
  await ctx.pool.query('insert into public.job_client_tasks (task, queue, max_attempts) values ($1, $1, $2)', [task, maxAttempts]);
  return task;
}

async function userInsert(ctx: ProbeContext, user: string, values: Record<string, unknown>): Promise<JobRow> {
  const columns = Object.keys(values);
  const { rows } = await ctx.as(
    'authenticated',
    (c) =>
      c.query<JobRow>(
        `insert into public.jobs (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) returning ${USER_JOB_COLUMNS.join(', ')}`,
        Object.values(values),
      ),
    user,
  );
  assert.ok(rows[0]);
  return rows[0];
}

const cancelMine = (ctx: ProbeContext, user: string, id: string) =>
  ctx.as('authenticated', async (c) => (await c.query<{ ok: boolean }>('select public.cancel_my_job(id => $1) as ok', [id])).rows[0]?.ok, user);

export const userJobProbes: Probe[] = [
  {
    name: "authenticated: take the job_key the service will use for this user's job",
    refusal: 'the service still gets a job of its own task; the user\'s job is untouched',
    async run(ctx) {
      const user = randomUUID();
      const echo = await clientTask(ctx);
      const key = `trial-expiry:${user}`;
      const mine = await userInsert(ctx, user, { task: echo, job_key: key });
      const service = await enqueueOne(ctx.pool, { task: 'expire-trial', user_id: user, job_key: key });
      assert.notEqual(service, mine.id);
      assert.equal((await getJob(ctx.pool, service)).task, 'expire-trial');
    },
  },
  {
    name: 'authenticated: take the job_key of a service job of the same (client) task for this user',
    refusal: "the service's enqueue makes its own job; the user's payload never runs as the service's",
    async run(ctx) {
      const user = randomUUID();
      const task = await clientTask(ctx);
      const mine = await userInsert(ctx, user, { task, job_key: 'monthly', payload: { to: 'attacker' } });
      const service = await enqueueOne(ctx.pool, { task, user_id: user, job_key: 'monthly', payload: { to: 'owner' } });
      assert.notEqual(service, mine.id);
      assert.deepEqual((await getJob(ctx.pool, service)).payload, { to: 'owner' });
    },
  },
  {
    name: 'service: enqueue task B with the job_key of a live job of task A',
    refusal: 'a job of task B (dedup considers the task)',
    async run(ctx) {
      const a = await enqueueOne(ctx.pool, { task: 'task-a', job_key: 'shared-key' });
      const b = await enqueueOne(ctx.pool, { task: 'task-b', job_key: 'shared-key' });
      assert.notEqual(a, b);
      assert.equal((await getJob(ctx.pool, b)).task, 'task-b');
      assert.equal(await enqueueOne(ctx.pool, { task: 'task-a', job_key: 'shared-key' }), a, 'same task, same key: deduplicated');
    },
  },
  {
    name: 'authenticated: cancel_my_job on a job the service enqueued for this user',
    refusal: 'false, and the job stays pending',
    async run(ctx) {
      const user = randomUUID();
      const id = await enqueueOne(ctx.pool, { task: 'expire-trial', user_id: user });
      assert.equal(await cancelMine(ctx, user, id), false);
      assert.equal((await getJob(ctx.pool, id)).status, 'pending');
      const own = await userInsert(ctx, user, { task: await clientTask(ctx) });
      assert.equal(await cancelMine(ctx, user, own.id), true, 'their own insert they may cancel');
    },
  },
  {
    name: 'authenticated (free plan): insert a payload over 64 KiB',
    refusal: '54000, nothing stored',
    async run(ctx) {
      const user = randomUUID();
      const task = await clientTask(ctx);
      await refusedWith(userInsert(ctx, user, { task, payload: { blob: 'x'.repeat(70_000) } }), '54000');
      await userInsert(ctx, user, { task, payload: { blob: 'x'.repeat(60_000) } });
    },
  },
  {
    name: 'authenticated (free plan, 100 live jobs): insert more live jobs, in one statement or several',
    refusal: '54000 past the plan\'s max_live_jobs; a plan with more allows more',
    async run(ctx) {
      const user = randomUUID();
      const task = await clientTask(ctx);
      const many = (n: number) =>
        ctx.as('authenticated', (c) => c.query(`insert into public.jobs (task) select $1 from generate_series(1, ${n})`, [task]), user);
      await refusedWith(many(10_000), '54000', 'ten thousand in one insert');
      await many(100);
      await refusedWith(many(1), '54000', 'the 101st');
      const ids = (await ctx.pool.query<{ id: string }>('select id from public.jobs where user_id = $1 limit 1', [user])).rows;
      await ctx.pool.query("update public.jobs set status = 'completed' where id = $1", [ids[0]?.id]);
      await many(1); // a finished job frees its place
      await ctx.pool.query("insert into public.job_user_tiers (user_id, tier) values ($1, 'starter')", [user]);
      await many(100);
    },
  },
  {
    name: "authenticated: back-date run_at ('4713-01-01 BC', yesterday) to jump the queue",
    refusal: 'run_at is taken as now',
    async run(ctx) {
      const user = randomUUID();
      const task = await clientTask(ctx);
      const before = (await ctx.pool.query<{ now: Date }>('select now()')).rows[0]?.now as Date;
      for (const runAt of ['4713-01-01 00:00:00+00 BC', new Date(Date.now() - 86_400_000).toISOString()]) {
        const job = await userInsert(ctx, user, { task, run_at: runAt });
        assert.ok(job.run_at >= before, `${runAt} stored as ${job.run_at.toISOString()}`);
      }
    },
  },
  {
    name: "authenticated: schedule run_at past the plan's horizon ('200000-01-01', in 31 days)",
    refusal: '22023, nothing stored',
    async run(ctx) {
      const user = randomUUID();
      const task = await clientTask(ctx);
      for (const runAt of ['200000-01-01 00:00:00+00', new Date(Date.now() + 31 * 86_400_000).toISOString()]) {
        await refusedWith(userInsert(ctx, user, { task, run_at: runAt }), '22023', runAt);
      }
      await userInsert(ctx, user, { task, run_at: new Date(Date.now() + 29 * 86_400_000).toISOString() });
    },
  },
  {
    name: "service_role: run_at before 2000 or after 9999 (enqueue_jobs, a direct insert, an update)",
    refusal: '22023 from enqueue_jobs, 23514 from the table',
    async run(ctx) {
      for (const runAt of ['4713-01-01 00:00:00+00 BC', '200000-01-01 00:00:00+00', '1999-12-31 23:59:59+00']) {
        await refusedWith(
          ctx.as('service_role', (c) => c.query("select public.enqueue_job(task => 't', run_at => $1)", [runAt])),
          '22023',
          `enqueue ${runAt}`,
        );
        await refusedWith(
          ctx.as('service_role', (c) => c.query("insert into public.jobs (task, run_at) values ('t', $1)", [runAt])),
          '23514',
          `insert ${runAt}`,
        );
      }
      const id = await enqueueOne(ctx.pool, { task: 't' });
      await refusedWith(
        ctx.as('service_role', (c) => c.query("update public.jobs set run_at = '200000-01-01' where id = $1", [id])),
        '23514',
      );
    },
  },
];
