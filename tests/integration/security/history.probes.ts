/**
 * The audit trail (public.job_events) against every role but the functions that own it: no
 * setting a client may set, and no ordinary statement of any API role or of the tables' owner,
 * skips a history row or deletes one.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import { enqueueOne, uniqueQueue } from '../sql/queue-sql.js';
import { refusedWith, type Probe, type ProbeContext } from './probe.js';

async function newJob(ctx: ProbeContext): Promise<string> {
  return enqueueOne(ctx.pool, { task: 'history-probe', queue: uniqueQueue() });
}

async function eventCount(client: pg.ClientBase | pg.Pool, jobId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from public.job_events where job_id = $1', [jobId]);
  return rows[0]?.n ?? 0;
}

export const historyProbes: Probe[] = [
  {
    name: 'service_role: update a job with supajobs.history_written = on',
    refusal: 'the change is recorded all the same',
    async run(ctx) {
      const id = await newJob(ctx);
      const after = await ctx.as('service_role', async (c) => {
        await c.query("select set_config('supajobs.history_written', 'on', true)");
        await c.query("update public.jobs set status = 'cancelled' where id = $1", [id]);
        return eventCount(c, id);
      });
      assert.equal(after, 2, 'enqueued and cancelled');
    },
  },
  {
    name: 'owner: update a job with supajobs.history_written = on',
    refusal: 'the change is recorded all the same',
    async run(ctx) {
      const id = await newJob(ctx);
      const after = await ctx.asOwner(async (c) => {
        await c.query("select set_config('supajobs.history_written', 'on', true)");
        await c.query("update public.jobs set status = 'cancelled' where id = $1", [id]);
        return eventCount(c, id);
      });
      assert.equal(after, 2);
    },
  },
  {
    name: 'service_role: delete history with supajobs.purging = on',
    refusal: '42501',
    async run(ctx) {
      const id = await newJob(ctx);
      await refusedWith(
        ctx.as('service_role', async (c) => {
          await c.query("select set_config('supajobs.purging', 'on', true)");
          await c.query('delete from public.job_events where job_id = $1', [id]);
        }),
        '42501',
      );
      assert.equal(await eventCount(ctx.pool, id), 1);
    },
  },
  {
    name: 'owner: delete history with supajobs.purging = on',
    refusal: '42501',
    async run(ctx) {
      const id = await newJob(ctx);
      await refusedWith(
        ctx.asOwner(async (c) => {
          await c.query("select set_config('supajobs.purging', 'on', true)");
          await c.query('delete from public.job_events where job_id = $1', [id]);
        }),
        '42501',
      );
      assert.equal(await eventCount(ctx.pool, id), 1);
    },
  },
  {
    name: 'owner: update, delete or truncate job_events',
    refusal: '42501 each',
    async run(ctx) {
      const id = await newJob(ctx);
      for (const sql of [
        "update public.job_events set message = 'forged' where job_id = $1",
        'delete from public.job_events where job_id = $1',
        'truncate public.job_events',
      ]) {
        await refusedWith(ctx.asOwner((c) => c.query(sql, sql.includes('$1') ? [id] : [])), '42501', sql);
      }
      assert.equal(await eventCount(ctx.pool, id), 1);
    },
  },
  {
    name: 'service_role: insert, update, delete or truncate job_events; draw from job_events_id_seq',
    refusal: '42501 each',
    async run(ctx) {
      const id = await newJob(ctx);
      for (const sql of [
        "insert into public.job_events (job_id, queue, task, event, to_status, attempt) values ($1, 'q', 't', 'completed', 'completed', 1)",
        "update public.job_events set message = 'forged' where job_id = $1",
        'delete from public.job_events where job_id = $1',
        'truncate public.job_events',
        'truncate public.jobs',
        "select nextval('public.job_events_id_seq')",
      ]) {
        await refusedWith(ctx.as('service_role', (c) => c.query(sql, sql.includes('$1') ? [id] : [])), '42501', sql);
      }
    },
  },
  {
    name: "service_role: change a job's id together with its status (the history trigger pairs rows by id)",
    refusal: '42501',
    async run(ctx) {
      const id = await newJob(ctx);
      await refusedWith(
        ctx.as('service_role', (c) =>
          c.query("update public.jobs set id = gen_random_uuid(), status = 'cancelled' where id = $1", [id]),
        ),
        '42501',
      );
    },
  },
  {
    name: 'service_role: purge_jobs (the one way history goes) inside a transaction that then deletes more',
    refusal: 'purge deletes its jobs\' history; the delete after it is 42501',
    async run(ctx) {
      const [purged, kept] = [await newJob(ctx), await newJob(ctx)];
      await ctx.pool.query("update public.jobs set status = 'cancelled', updated_at = now() - interval '2 days' where id = $1", [purged]);
      await refusedWith(
        ctx.as('service_role', async (c) => {
          await c.query("select public.purge_jobs(older_than => '1 day')");
          assert.equal(await eventCount(c, purged), 0, 'purged with its job');
          await c.query('delete from public.job_events where job_id = $1', [kept]);
        }),
        '42501',
      );
      const owner = await ctx.asOwner(async (c) => {
        await c.query("select public.purge_jobs(older_than => '1 day')");
        return c.query('delete from public.job_events where job_id = $1', [kept]).then(
          () => 'deleted',
          (error: { code?: string }) => error.code,
        );
      });
      assert.equal(owner, '42501', 'not even the owner, after a purge in its transaction');
      assert.equal(await eventCount(ctx.pool, kept), 1);
    },
  },
];
