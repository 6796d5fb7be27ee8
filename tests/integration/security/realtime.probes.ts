/**
 * Realtime (postgres_changes on public.jobs through the stand-in, which applies the rules Realtime
 * applies): anon gets no row data; a signed-in user gets nothing of other users' jobs, and with
 * the publication publishing inserts and updates only (docs/supabase.md), no deletions on purge;
 * an owner's frames hold only the columns users may read.
 */
import type { RealtimePostgresChangesPayload, SupabaseClient } from '@supabase/supabase-js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { userToken } from '../../support/jwt.js';
import { waitFor } from '../drivers/conformance.js';
import { claimOne, uniqueQueue } from '../sql/queue-sql.js';
import type { Probe, ProbeContext } from './probe.js';

type Change = RealtimePostgresChangesPayload<Record<string, unknown>> & { errors?: unknown };

/** Every change on jobs this client receives; resolves once Realtime really listens. */
async function watch(client: SupabaseClient, token?: string): Promise<Change[]> {
  if (token) await client.realtime.setAuth(token);
  const changes: Change[] = [];
  let listening = false;
  client
    .channel(`probe-${randomUUID()}`)
    .on('postgres_changes', { event: '*', schema: 'public', table: 'jobs' }, (change) => changes.push(change as Change))
    .on('system', {}, (message: { extension?: string; status?: string }) => {
      if (message.extension === 'postgres_changes' && message.status === 'ok') listening = true;
    })
    .subscribe();
  await waitFor(() => listening);
  return changes;
}

/** A user's job, claimed and failed by a worker with internals in its error text; returns its id. */
async function userJobRun(ctx: ProbeContext, user: string): Promise<string> {
  const queue = uniqueQueue();
  await ctx.pool.query('insert into public.job_client_tasks (task, queue, max_attempts) values ($1, $1, 1)', [queue]);
  const { rows } = await ctx.as('authenticated', (c) => c.query<{ id: string }>('insert into public.jobs (task) values ($1) returning id', [queue]), user);
  const id = rows[0]?.id as string;
  await claimOne(ctx.pool, 'worker-10.0.3.7', queue);
  await ctx.pool.query(
    `select public.fail_job(id => $1, worker_id => 'worker-10.0.3.7', error_code => 'GW_DOWN',
       error_message => 'connect ECONNREFUSED 10.0.3.7:5432', retryable => false, public_error => 'Try again later')`,
    [id],
  );
  return id;
}

const dataOf = (c: Change) => ({ ...(c.new ?? {}), ...(c.old ?? {}) });
const idsOf = (changes: Change[]) => changes.map((c) => dataOf(c).id).filter((id) => id !== undefined);

export const realtimeProbes: Probe[] = [
  {
    name: "anon (Realtime, every event on jobs): a user's job inserted, run, failed and purged",
    refusal: 'no row data in any frame (only "Error 401: Unauthorized" frames; their timing remains)',
    async run(ctx) {
      const seen = await watch(ctx.anon);
      const service = await watch(ctx.service);
      const id = await userJobRun(ctx, randomUUID());
      await ctx.pool.query("update public.jobs set updated_at = now() - interval '2 days' where id = $1", [id]);
      await ctx.pool.query("select public.purge_jobs(older_than => '1 day', statuses => '{failed}')");
      await waitFor(() => service.some((c) => c.eventType === 'DELETE' && dataOf(c).id === id));
      // One frame per change to each subscriber: once anon has as many as the service, it has all.
      await waitFor(() => seen.length >= service.length);
      assert.deepEqual(idsOf(seen), [], 'no ids');
      assert.ok(seen.every((c) => Object.keys(dataOf(c)).length === 0));
    },
  },
  {
    name: "authenticated B (Realtime, every event on jobs, no filter): A's job inserted, run, failed",
    refusal: "nothing of A's job",
    async run(ctx) {
      const bob = randomUUID();
      const seen = await watch(ctx.user(bob), userToken(bob));
      const id = await userJobRun(ctx, randomUUID());
      const own = await userJobRun(ctx, bob); // B's own job: its frames come after A's
      await waitFor(() => seen.some((c) => dataOf(c).id === own && dataOf(c).status === 'failed'));
      assert.ok(!idsOf(seen).includes(id));
    },
  },
  {
    name: "authenticated B (every event on jobs), publication publishing insert, update: purge of A's jobs",
    refusal: 'no DELETE frame (and the worker still gets INSERTs)',
    async run(ctx) {
      await ctx.pool.query("alter publication supabase_realtime set (publish = 'insert, update')");
      try {
        const bob = randomUUID();
        const seen = await watch(ctx.user(bob), userToken(bob));
        const service = await watch(ctx.service);
        const id = await userJobRun(ctx, randomUUID());
        await ctx.pool.query("update public.jobs set updated_at = now() - interval '2 days' where id = $1", [id]);
        assert.ok((await ctx.pool.query<{ n: number }>("select public.purge_jobs(older_than => '1 day', statuses => '{failed}') as n")).rows[0]?.n);
        const own = await userJobRun(ctx, bob);
        await waitFor(() => seen.some((c) => dataOf(c).id === own && dataOf(c).status === 'failed'));
        await waitFor(() => service.some((c) => c.eventType === 'INSERT' && dataOf(c).id === own));
        assert.deepEqual(seen.concat(service).filter((c) => c.eventType === 'DELETE'), []);
      } finally {
        await ctx.pool.query("alter publication supabase_realtime set (publish = 'insert, update, delete, truncate')");
      }
    },
  },
  {
    name: "owner (Realtime): frames of their own job while a worker runs and fails it",
    refusal: 'no locked_by, lease_expires_at or last_error in any frame; status, error_code, public_error there',
    async run(ctx) {
      const alice = randomUUID();
      const seen = await watch(ctx.user(alice), userToken(alice));
      const id = await userJobRun(ctx, alice);
      await waitFor(() => seen.some((c) => dataOf(c).id === id && dataOf(c).status === 'failed'));
      for (const change of seen) {
        for (const column of ['locked_by', 'lease_expires_at', 'last_error']) assert.ok(!(column in dataOf(change)), column);
      }
      const failed = seen.find((c) => dataOf(c).status === 'failed');
      assert.equal(dataOf(failed as Change).public_error, 'Try again later');
      assert.equal(dataOf(failed as Change).error_code, 'GW_DOWN');
    },
  },
];
