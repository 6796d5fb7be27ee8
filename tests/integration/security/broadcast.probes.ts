/**
 * Broadcast wake-ups (docs/supabase.md): the database sends them on the private topic
 * supajobs:jobs, which only the service role may join (no policy on realtime.messages lets any
 * other role read it). Neither anon nor a signed-in user may join it, and a public channel of the
 * same name gets none of its messages.
 */
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { userToken } from '../../support/jwt.js';
import { waitFor } from '../drivers/conformance.js';
import { uniqueQueue } from '../sql/queue-sql.js';
import type { Probe, ProbeContext } from './probe.js';

const TOPIC = 'supajobs:jobs';

interface Joined {
  channel: RealtimeChannel;
  status: string;
  error: Error | undefined;
  messages: { payload?: { queues?: string[] | null; marker?: boolean } }[];
}

/** Joins the wake-up topic; resolves with the first SUBSCRIBED or CHANNEL_ERROR. */
async function join(client: SupabaseClient, isPrivate: boolean, token?: string): Promise<Joined> {
  if (token) await client.realtime.setAuth(token);
  const messages: Joined['messages'] = [];
  return new Promise((resolve) => {
    const channel = client
      .channel(TOPIC, { config: { private: isPrivate } })
      .on('broadcast', { event: 'ready' }, (message) => messages.push(message as Joined['messages'][number]))
      .subscribe((status, error) => {
        if (status === 'SUBSCRIBED' || status === 'CHANNEL_ERROR') resolve({ channel, status, error, messages });
      });
  });
}

async function refusedPrivateJoin(client: SupabaseClient, token?: string): Promise<void> {
  const joined = await join(client, true, token);
  try {
    assert.equal(joined.status, 'CHANNEL_ERROR');
    assert.match(String(joined.error?.message), /Unauthorized: You do not have permissions to read from this Channel topic: supajobs:jobs/);
  } finally {
    await client.removeChannel(joined.channel);
  }
}

export const broadcastProbes: Probe[] = [
  {
    name: 'anon (Realtime): join the private wake-up topic supajobs:jobs',
    refusal: 'join refused: "Unauthorized: You do not have permissions to read from this Channel topic"',
    run: (ctx) => refusedPrivateJoin(ctx.anon),
  },
  {
    name: 'authenticated (Realtime): join the private wake-up topic supajobs:jobs',
    refusal: 'join refused: "Unauthorized: You do not have permissions to read from this Channel topic"',
    async run(ctx) {
      const user = randomUUID();
      await refusedPrivateJoin(ctx.user(user), userToken(user));
    },
  },
  {
    name: 'anon (Realtime): a public channel named supajobs:jobs while wake-ups are broadcast',
    refusal: 'joins, but receives none of the private wake-up messages',
    async run(ctx: ProbeContext) {
      await ctx.pool.query('select public.set_broadcast_wake_ups(true)');
      const outsider = await join(ctx.anon, false);
      const service = await join(ctx.service, true);
      try {
        assert.equal(service.status, 'SUBSCRIBED');
        assert.equal(outsider.status, 'SUBSCRIBED');
        const queue = uniqueQueue();
        await ctx.pool.query('select public.enqueue_job($1, queue => $2)', ['echo', queue]);
        await waitFor(() => service.messages.some((m) => m.payload?.queues?.includes(queue)));
        // A public message sent after it: once the outsider has that one, it would have had the other.
        await ctx.pool.query(`select realtime.send('{"marker": true}', 'ready', $1, false)`, [TOPIC]);
        await waitFor(() => outsider.messages.length > 0);
        assert.deepEqual(outsider.messages.map((m) => m.payload?.marker), [true]);
      } finally {
        await ctx.anon.removeChannel(outsider.channel);
        await ctx.service.removeChannel(service.channel);
        await ctx.pool.query('select public.set_broadcast_wake_ups(false)');
      }
    },
  },
];
