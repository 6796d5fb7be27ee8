/**
 * What end users see of their own jobs: no worker ids, leases or raw error text, in SQL, through
 * the stand-in's PostgREST and in Realtime frames; a failure reaches them as error_code and the
 * message the handler chose (public_error).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { claimOne, getJob, uniqueQueue } from '../sql/queue-sql.js';
import { refusedWith, type Probe, type ProbeContext } from './probe.js';
import { USER_JOB_COLUMNS } from './privileges.probes.js';

/** A user's job that a worker claimed and failed with internals in its error text. */
async function failedUserJob(ctx: ProbeContext, user: string): Promise<string> {
  const queue = uniqueQueue();
  const task = `view-${queue}`;
  await ctx.pool.query('insert into public.job_client_tasks (task, queue, max_attempts) values ($1, $2, 1)', [task, queue]);
  const { rows } = await ctx.as('authenticated', (c) => c.query<{ id: string }>('insert into public.jobs (task) values ($1) returning id', [task]), user);
  const id = rows[0]?.id as string;
  await claimOne(ctx.pool, 'worker-10.0.3.7', queue);
  await ctx.pool.query(
    `select public.fail_job(id => $1, worker_id => 'worker-10.0.3.7', error_code => 'GW_DOWN',
       error_message => 'connect ECONNREFUSED 10.0.3.7:5432', retryable => false, public_error => 'The gateway is down')`,
    [id],
  );
  return id;
}

export const userViewProbes: Probe[] = [
  {
    name: "authenticated: read locked_by, lease_expires_at, last_error of their own job; worker_id, message of its history",
    refusal: '42501 each; error_code and public_error readable',
    async run(ctx) {
      const user = randomUUID();
      const id = await failedUserJob(ctx, user);
      for (const sql of [
        'select locked_by from public.jobs where id = $1',
        'select lease_expires_at from public.jobs where id = $1',
        'select last_error from public.jobs where id = $1',
        'select * from public.jobs where id = $1',
        'select worker_id from public.job_events where job_id = $1',
        'select message from public.job_events where job_id = $1',
      ]) {
        await refusedWith(ctx.as('authenticated', (c) => c.query(sql, [id]), user), '42501', sql);
      }
      const { rows } = await ctx.as('authenticated', (c) => c.query('select status, error_code, public_error from public.jobs where id = $1', [id]), user);
      assert.deepEqual(rows, [{ status: 'failed', error_code: 'GW_DOWN', public_error: 'The gateway is down' }]);
      assert.match((await getJob(ctx.pool, id)).last_error ?? '', /ECONNREFUSED/, 'the service keeps the raw text');
    },
  },
  {
    name: 'authenticated via supabase-js: select=* or select=last_error of their jobs',
    refusal: 'HTTP 401/403, 42501; the documented columns are readable',
    async run(ctx) {
      const user = randomUUID();
      const id = await failedUserJob(ctx, user);
      const client = ctx.user(user);
      for (const columns of ['*', 'id,last_error', 'locked_by']) {
        const { error, status } = await client.from('jobs').select(columns).eq('id', id);
        assert.equal(error?.code, '42501', `select=${columns}: ${status}`);
      }
      const { data, error } = await client.from('jobs').select(USER_JOB_COLUMNS.join(',')).eq('id', id);
      assert.equal(error, null);
      assert.equal((data as unknown as { public_error: string }[])[0]?.public_error, 'The gateway is down');
    },
  },
];
