/**
 * Client-side jobs as an app's end users do them with the real supabase-js: insert a job through
 * RLS (owner, queue, attempts and tier priority set by the database), follow its status and stage
 * live through Realtime while a worker (the supabase driver, service role) claims it, reports
 * progress and completes it, and see only their own jobs and history.
 */
import type { RealtimePostgresChangesPayload, SupabaseClient } from '@supabase/supabase-js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { userToken } from '../../support/jwt.js';
import { waitFor } from '../drivers/conformance.js';
import { withStandIn } from './context.js';

interface JobRow {
  id: string;
  status: string;
  stage: string | null;
  queue: string;
  priority: number;
  user_id: string;
}

const ctx = await withStandIn();
await ctx.db.pool.query("insert into job_client_tasks (task, queue, max_attempts) values ('echo', 'client', 3)");
const [alice, bob] = [randomUUID(), randomUUID()];
await ctx.db.pool.query("insert into job_user_tiers (user_id, tier) values ($1, 'pro')", [alice]);

const worker = new SupabaseDriver({ url: ctx.standIn.url, serviceRoleKey: ctx.standIn.serviceRoleKey, realtime: false });
ctx.cleanup(() => worker.stop());
await worker.start();

/** An app's client signed in as `sub` (its access token on every request and on Realtime). */
function signedIn(sub: string): { supabase: SupabaseClient; token: string } {
  const token = userToken(sub);
  return { supabase: ctx.client(ctx.standIn.anonKey, { accessToken: async () => token }), token };
}

/** Subscribes to every change on jobs the user may see; resolves once Realtime really listens. */
async function follow(supabase: SupabaseClient, token: string): Promise<RealtimePostgresChangesPayload<JobRow>[]> {
  await supabase.realtime.setAuth(token);
  const changes: RealtimePostgresChangesPayload<JobRow>[] = [];
  let listening = false;
  supabase
    .channel(`my-jobs-${randomUUID()}`)
    .on<JobRow>('postgres_changes', { event: '*', schema: 'public', table: 'jobs' }, (change) => changes.push(change))
    .on('system', {}, (message: { extension?: string; status?: string }) => {
      if (message.extension === 'postgres_changes' && message.status === 'ok') listening = true;
    })
    .subscribe();
  await waitFor(() => listening);
  return changes;
}

const rowOf = (change: RealtimePostgresChangesPayload<JobRow>) => change.new as Partial<JobRow>;

test('end users insert jobs through RLS, follow them live while a worker runs them, and see only their own', async () => {
  const a = signedIn(alice);
  const b = signedIn(bob);
  const aliceSees = await follow(a.supabase, a.token);
  const bobSees = await follow(b.supabase, b.token);

  // Users read named columns: locked_by, lease_expires_at and last_error are the service's (select=* is 42501).
  const inserted = await a.supabase
    .from('jobs')
    .insert({ task: 'echo', payload: { text: 'hi' } })
    .select('id,user_id,status,queue,max_attempts,priority')
    .single<JobRow & { max_attempts: number }>();
  assert.equal(inserted.status, 201);
  const aliceJob = inserted.data as JobRow & { max_attempts: number };
  assert.equal(aliceJob.user_id, alice);
  assert.equal(aliceJob.status, 'pending');
  assert.equal(aliceJob.queue, 'client');
  assert.equal(aliceJob.max_attempts, 3);
  assert.equal(aliceJob.priority, 10, "the pro tier's priority");
  const { data: bobRows } = await b.supabase.from('jobs').insert({ task: 'echo', payload: { text: 'yo' } }).select('id,priority');
  const bobJob = (bobRows as { id: string; priority: number }[])[0] as { id: string; priority: number };
  assert.equal(bobJob.priority, 0, 'no tier row: free');

  const claimed = await worker.claim({ workerId: 'worker-1', queues: ['client'], batchSize: 10, leaseSeconds: 60 });
  assert.deepEqual(claimed.map((j) => j.id), [aliceJob.id, bobJob.id], 'higher tier first');
  assert.equal(await worker.progress('worker-1', aliceJob.id, 'resizing', { percent: 50 }), true);
  assert.deepEqual(await worker.complete('worker-1', [{ id: aliceJob.id, attempt: 1, result: { text: 'hi' } }]), [aliceJob.id]);
  await worker.complete('worker-1', [{ id: bobJob.id, attempt: 1 }]);

  const timeline = (seen: RealtimePostgresChangesPayload<JobRow>[], id: string) =>
    seen.filter((c) => rowOf(c).id === id).map((c) => `${c.eventType} ${rowOf(c).status}${rowOf(c).stage ? ` ${rowOf(c).stage}` : ''}`);
  await waitFor(() => timeline(aliceSees, aliceJob.id).includes('UPDATE completed resizing'));
  await waitFor(() => timeline(bobSees, bobJob.id).includes('UPDATE completed'));
  assert.deepEqual(timeline(aliceSees, aliceJob.id), ['INSERT pending', 'UPDATE processing', 'UPDATE processing resizing', 'UPDATE completed resizing']);
  assert.ok(aliceSees.every((c) => rowOf(c).id !== bobJob.id), 'no events for another user\'s job');
  assert.ok(bobSees.every((c) => rowOf(c).id !== aliceJob.id));

  const { data: own } = await a.supabase.from('jobs').select('id,status,stage,result');
  assert.deepEqual(own, [{ id: aliceJob.id, status: 'completed', stage: 'resizing', result: { text: 'hi' } }]);
  const { data: notMine } = await a.supabase.from('jobs').select('id').eq('id', bobJob.id);
  assert.deepEqual(notMine, []);
  const { data: history } = await a.supabase.from('job_events').select('event,to_status,stage').eq('job_id', aliceJob.id).order('id');
  assert.deepEqual(history, [
    { event: 'enqueued', to_status: 'pending', stage: null },
    { event: 'processing', to_status: 'processing', stage: null },
    { event: 'stage', to_status: 'processing', stage: 'resizing' },
    { event: 'completed', to_status: 'completed', stage: 'resizing' },
  ]);
  const { data: othersHistory } = await a.supabase.from('job_events').select('id').eq('job_id', bobJob.id);
  assert.deepEqual(othersHistory, []);
});

test('grants and RLS refuse what end users may not do', async () => {
  const { supabase } = signedIn(alice);
  const notAllowed = await supabase.from('jobs').insert({ task: 'send-invoices' }).select('id');
  assert.equal(notAllowed.status, 403);
  assert.equal(notAllowed.error?.code, '42501');
  const ownPriority = await supabase.from('jobs').insert({ task: 'echo', priority: 1000 }).select('id');
  assert.equal(ownPriority.status, 403);
  assert.equal(ownPriority.error?.code, '42501');
  const claim = await supabase.rpc('claim_jobs', { worker_id: 'me' });
  assert.equal(claim.status, 403);
  const anonymous = await ctx.client(ctx.standIn.anonKey).from('jobs').insert({ task: 'echo' }).select('id');
  assert.equal(anonymous.status, 401);

  const { data: mine } = await supabase.from('jobs').insert({ task: 'echo' }).select('id').single<{ id: string }>();
  const { data: bobs } = await signedIn(bob).supabase.from('jobs').insert({ task: 'echo' }).select('id').single<{ id: string }>();
  assert.equal((await supabase.rpc('cancel_my_job', { id: bobs?.id })).data, false);
  assert.equal((await supabase.rpc('cancel_my_job', { id: mine?.id })).data, true);
});
