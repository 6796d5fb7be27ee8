/**
 * End users through RLS (SQL, as PostgREST switches roles): what the insert trigger fixes, what
 * the grants refuse, what users see of each other, cancel_my_job; and service_role's direct
 * insert as a control. The per-function probes (every function as anon and authenticated) are in
 * privileges.probes.ts and rpc.probes.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { asRole, assertSqlState, claimOne, getJob, uniqueQueue, type JobRow } from '../sql/queue-sql.js';
import { USER_JOB_COLUMNS } from './privileges.probes.js';
import type { Probe } from './probe.js';

/** What a user's insert returns: the columns users may read. */
const COLUMNS = USER_JOB_COLUMNS.join(', ');

/** One call of every worker function, by name, with harmless arguments. */
const WORKER_CALLS: Record<string, string> = {
  enqueue_job: "select public.enqueue_job(task => 'security-probe')",
  enqueue_jobs: `select * from public.enqueue_jobs(jobs => '[{"task": "security-probe"}]')`,
  claim_jobs: "select * from public.claim_jobs(worker_id => 'probe', queues => '{nothing-here}')",
  claim_next_job: "select * from public.claim_next_job(worker_id => 'probe', queues => '{nothing-here}')",
  heartbeat_jobs: "select * from public.heartbeat_jobs(worker_id => 'probe', ids => '{}')",
  complete_job: "select public.complete_job(id => gen_random_uuid(), worker_id => 'probe')",
  complete_jobs: "select * from public.complete_jobs(worker_id => 'probe', ids => '{}')",
  fail_job: "select public.fail_job(id => gen_random_uuid(), worker_id => 'probe', error_code => 'E')",
  release_jobs: "select * from public.release_jobs(worker_id => 'probe', ids => '{}')",
  update_job_progress: "select public.update_job_progress(id => gen_random_uuid(), worker_id => 'probe')",
  reclaim_expired_jobs: 'select public.reclaim_expired_jobs()',
  get_queue_stats: 'select * from public.get_queue_stats()',
  retry_job: 'select public.retry_job(id => gen_random_uuid())',
  retry_failed_jobs: "select public.retry_failed_jobs(queue => 'nothing-here')",
  cancel_job: 'select public.cancel_job(id => gen_random_uuid())',
  purge_jobs: "select public.purge_jobs(older_than => '1000 days')",
  job_backoff_delay: 'select public.job_backoff_delay(attempt => 1)',
  schedule_job: "select * from public.schedule_job(name => 'security-probe', cron => '0 0 1 1 *', task => 'security-probe')",
  unschedule_job: "select * from public.unschedule_job(name => 'nothing-here')",
  set_schedule_enabled: "select * from public.set_schedule_enabled(name => 'nothing-here', enabled => true)",
  sync_job_schedules: "select * from public.sync_job_schedules(schedules => '[]')",
  get_job_schedules: 'select * from public.get_job_schedules()',
  fire_schedule: "select * from public.fire_schedule(name => 'nothing-here', ticks => '{}')",
  pause_queue: "select * from public.pause_queue(queue => 'security-probe')",
  resume_queue: "select * from public.resume_queue(queue => 'security-probe')",
  set_queue_limits: "select * from public.set_queue_limits(queue => 'security-probe')",
  get_queue_controls: 'select * from public.get_queue_controls()',
  watch_job: 'select public.watch_job(id => gen_random_uuid())',
  unwatch_job: 'select public.unwatch_job(id => gen_random_uuid(), waiter => 0)',
  follow_job_events: 'select public.follow_job_events()',
};

/** Every worker function, called in SQL as anon and authenticated (refused), and as service_role (the control). */
export function workerCallProbes(): Probe[] {
  const probes: Probe[] = [];
  for (const [name, sql] of Object.entries(WORKER_CALLS)) {
    for (const role of ['anon', 'authenticated'] as const) {
      probes.push({
        name: `${role} in SQL: ${name}`,
        refusal: '42501',
        run: (ctx) => assertSqlState(ctx.as(role, (c) => c.query(sql), randomUUID()), '42501', `${role} ${name}`),
      });
    }
  }
  probes.push({
    name: 'service_role in SQL: every worker function (the control: these are its to call)',
    refusal: 'none refused',
    async run(ctx) {
      for (const [name, sql] of Object.entries(WORKER_CALLS)) {
        await ctx.as('service_role', (c) => c.query(sql)).catch((error: Error) => assert.fail(`service_role ${name}: ${error.message}`));
      }
    },
  });
  return probes;
}

export async function rlsProbes(pool: pg.Pool): Promise<Probe[]> {
  const TASK = 'export-report';
  const TASK_QUEUE = 'user-exports';
  await pool.query('insert into public.job_client_tasks (task, queue, max_attempts) values ($1, $2, 2)', [TASK, TASK_QUEUE]);

  async function userInsert(userId: string, sql = `insert into public.jobs (task, payload) values ('${TASK}', '{"format": "csv"}') returning ${COLUMNS}`) {
    const { rows } = await asRole(pool, 'authenticated', (c) => c.query<JobRow>(sql), userId);
    assert.ok(rows[0]);
    return rows[0];
  }

  function asUser<T>(userId: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return asRole(pool, 'authenticated', fn, userId);
  }

  return [
    {
      name: 'a user inserting only task and payload gets a job the queue can trust',
      refusal: 'owner, status, attempts, priority, queue and max_attempts set by the trigger',
      async run() {
      const user = randomUUID();
      const job = await userInsert(user);
      assert.equal(job.user_id, user);
      assert.equal(job.status, 'pending');
      assert.equal(job.attempts, 0);
      assert.equal(job.priority, 0, 'a user without a tier is on free');
      assert.equal(job.queue, TASK_QUEUE);
      assert.equal(job.max_attempts, 2);
      assert.deepEqual(job.payload, { format: 'csv' });
      assert.equal((await getJob(pool, job.id)).locked_by, null);
      const events = await pool.query('select user_id, event, actor from public.job_events where job_id = $1', [job.id]);
      assert.deepEqual(events.rows, [{ user_id: user, event: 'enqueued', actor: 'authenticated' }]);
      },
    },
    {
      name: "a user's plan tier sets the priority: free 0, starter 5, pro and enterprise 10",
      refusal: "the priority of the user's plan, whatever they ask",
      async run() {
      const expected: Record<string, number> = { free: 0, starter: 5, pro: 10, enterprise: 10 };
      for (const [tier, priority] of Object.entries(expected)) {
        const user = randomUUID();
        await pool.query('insert into public.job_user_tiers (user_id, tier) values ($1, $2)', [user, tier]);
        assert.equal((await userInsert(user)).priority, priority, tier);
      }
      },
    },
    {
      name: 'a user may name run_at and job_key, and nothing the queue trusts',
      refusal: '42501 for any other column; 23505 for a live key of theirs',
      async run() {
      const user = randomUUID();
      const runAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10 * 86_400_000).toISOString();
      const job = await userInsert(
        user,
        `insert into public.jobs (task, payload, run_at, job_key) values ('${TASK}', '{}', '${runAt}', 'mine') returning ${COLUMNS}`,
      );
      assert.equal(job.run_at.toISOString(), runAt);
      assert.equal(job.job_key, 'mine');
      await assertSqlState(
        asUser(user, (c) => c.query(`insert into public.jobs (task, job_key) values ('${TASK}', 'mine')`)),
        '23505',
        'a job_key the user holds for a live job',
      );
      const forbidden: Record<string, string> = {
        status: "'completed'",
        priority: '1000',
        user_id: `'${randomUUID()}'`,
        queue: "'express'",
        attempts: '0',
        max_attempts: '1000',
        locked_by: "'me'",
        id: 'gen_random_uuid()',
      };
      for (const [column, value] of Object.entries(forbidden)) {
        await assertSqlState(
          asUser(user, (c) => c.query(`insert into public.jobs (task, ${column}) values ('${TASK}', ${value})`)),
          '42501',
          column,
        );
      }
      },
    },
    {
      name: 'a task missing from job_client_tasks, a user without sub, and anon are refused',
      refusal: '42501 each',
      async run() {
      await assertSqlState(
        asUser(randomUUID(), (c) => c.query("insert into public.jobs (task) values ('delete-everything')")),
        '42501',
        'unlisted task',
      );
      await assertSqlState(
        asRole(pool, 'authenticated', (c) => c.query(`insert into public.jobs (task) values ('${TASK}')`)),
        '42501',
        'no sub',
      );
      await assertSqlState(
        asRole(pool, 'anon', (c) => c.query(`insert into public.jobs (task) values ('${TASK}')`)),
        '42501',
        'anon insert',
      );
      await assertSqlState(asRole(pool, 'anon', (c) => c.query('select * from public.jobs')), '42501', 'anon select');
      },
    },
    {
      name: "user A cannot read B's jobs or events, nor change any job",
      refusal: "B's rows invisible; update, delete, tier tables 42501",
      async run() {
      const [alice, bob] = [randomUUID(), randomUUID()];
      const aliceJob = await userInsert(alice);
      const bobJob = await userInsert(bob);
      const seen = await asUser(alice, async (c) => ({
        jobs: (await c.query<{ id: string }>('select id from public.jobs')).rows.map((r) => r.id),
        events: (await c.query<{ job_id: string }>('select distinct job_id from public.job_events')).rows.map((r) => r.job_id),
        bob: (await c.query('select id from public.jobs where id = $1', [bobJob.id])).rows,
      }));
      assert.deepEqual(seen, { jobs: [aliceJob.id], events: [aliceJob.id], bob: [] });

      await assertSqlState(asUser(alice, (c) => c.query("update public.jobs set status = 'completed' where id = $1", [aliceJob.id])), '42501', 'update');
      await assertSqlState(asUser(alice, (c) => c.query('delete from public.jobs where id = $1', [aliceJob.id])), '42501', 'delete');
      await assertSqlState(asUser(alice, (c) => c.query('select * from public.job_user_tiers')), '42501', 'tiers of users');
      await assertSqlState(asUser(alice, (c) => c.query('select * from public.job_client_tasks')), '42501', 'client tasks');
      const tiers = await asUser(alice, (c) => c.query('select tier from public.job_priority_tiers'));
      assert.equal(tiers.rows.length, 4, 'the plan tiers are public to users');

      // service_role sees everyone's.
      const all = await asRole(pool, 'service_role', (c) =>
        c.query<{ n: number }>('select count(*)::int as n from public.jobs where id = any ($1)', [[aliceJob.id, bobJob.id]]),
      );
      assert.equal(all.rows[0]?.n, 2);
      },
    },
    {
      name: "cancel_my_job cancels only the caller's own pending job",
      refusal: "false for another's job or a running one; 42501 for anon",
      async run() {
      const [alice, bob] = [randomUUID(), randomUUID()];
      const cancel = (user: string, id: string) =>
        asUser(user, async (c) => (await c.query<{ ok: boolean }>('select public.cancel_my_job(id => $1) as ok', [id])).rows[0]?.ok);

      const pending = await userInsert(alice);
      assert.equal(await cancel(bob, pending.id), false, "not someone else's");
      assert.equal((await getJob(pool, pending.id)).status, 'pending');
      assert.equal(await cancel(alice, pending.id), true);
      assert.equal((await getJob(pool, pending.id)).status, 'cancelled');
      assert.equal(await cancel(alice, pending.id), false, 'not twice');
      const last = await pool.query('select actor, from_status, to_status from public.job_events where job_id = $1 order by id desc limit 1', [pending.id]);
      assert.deepEqual(last.rows[0], { actor: 'authenticated', from_status: 'pending', to_status: 'cancelled' });

      // A task with a queue of its own, so that the worker claims exactly this job.
      const queue = uniqueQueue();
      await pool.query("insert into public.job_client_tasks (task, queue) values ('cancel-probe', $1)", [queue]);
      const running = await userInsert(alice, "insert into public.jobs (task) values ('cancel-probe') returning " + COLUMNS);
      await claimOne(pool, 'worker', queue);
      assert.equal((await getJob(pool, running.id)).status, 'processing');
      assert.equal(await cancel(alice, running.id), false, 'not once it runs');

      await assertSqlState(
        asRole(pool, 'anon', (c) => c.query('select public.cancel_my_job(id => $1)', [pending.id])),
        '42501',
        'anon',
      );
      },
    },
    {
      name: 'service_role inserts directly with any column; the end-user trigger leaves it alone',
      refusal: "(control) the service's columns kept",
      async run() {
      const queue = uniqueQueue();
      const { rows } = await asRole(pool, 'service_role', (c) =>
        c.query<JobRow>("insert into public.jobs (task, queue, priority, max_attempts) values ('t', $1, 99, 9) returning " + COLUMNS, [queue]),
      );
      assert.deepEqual([rows[0]?.queue, rows[0]?.priority, rows[0]?.max_attempts, rows[0]?.user_id], [queue, 99, 9, null]);
      },
    },
  ];
}
