import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { WakeUpHint } from '../driver.js';
import { hintFromReadySummary } from '../ready-summary.js';

/** How a supabase-transport worker hears of new work (REALTIME_WAKE_UPS). */
export type RealtimeWakeUpMode = 'postgres_changes' | 'broadcast';

/** The kind of Realtime channel wake-ups arrive on: how to make one, and what says it is live. */
export interface WakeUpChannelKind {
  mode: RealtimeWakeUpMode;
  /** A new channel, not yet joined, whose events call onHint. generation counts the channels made. */
  open(client: SupabaseClient, generation: number, onHint: (hint: WakeUpHint) => void): RealtimeChannel;
  /** The `system` message extension whose `ok` says events now flow (and whose `error` says they cannot). */
  readyExtension: string;
  /** Added to the warning when they cannot. */
  unavailableHelp: string;
}

/**
 * Realtime checks every INSERT into public.jobs against every subscriber and sends one event per
 * row. A fresh topic per channel: a channel the server closed is replaced, never reused.
 */
export const POSTGRES_CHANGES: WakeUpChannelKind = {
  mode: 'postgres_changes',
  open: (client, generation, onHint) =>
    client
      .channel(`supajobs-wakeups-${generation}`)
      .on<Record<string, unknown>>('postgres_changes', { event: 'INSERT', schema: 'public', table: 'jobs' }, (payload) =>
        onHint(hintFromRecord(payload.new)),
      ),
  readyExtension: 'postgres_changes',
  unavailableHelp: 'is public.jobs in publication supabase_realtime? see docs/supabase.md',
};

/** The topic and event job_broadcast_ready() sends on (supabase/migrations). */
export const BROADCAST_TOPIC = 'supajobs:jobs';
export const BROADCAST_EVENT = 'ready';

/**
 * The database sends one message per statement that made work ready (realtime.send). The channel
 * is private: a public topic could be read by anyone holding the app's anon key (queue names and
 * volumes) and written by them too, each message waking every worker. Joining a private channel
 * needs a SELECT policy on realtime.messages for the topic, which no role has; the service role
 * bypasses RLS. `replication_ready`: Realtime says when it reads the database's messages, since
 * those sent before are lost.
 */
export const BROADCAST: WakeUpChannelKind = {
  mode: 'broadcast',
  open: (client, _generation, onHint) =>
    client
      .channel(BROADCAST_TOPIC, { config: { private: true, broadcast: { replication_ready: true } } })
      .on('broadcast', { event: BROADCAST_EVENT }, (message: { payload?: unknown }) => onHint(hintFromReadySummary(message.payload))),
  readyExtension: 'system',
  unavailableHelp: "Realtime is not reading the database's broadcasts; see docs/supabase.md",
};

export const WAKE_UP_CHANNELS: Record<RealtimeWakeUpMode, WakeUpChannelKind> = { postgres_changes: POSTGRES_CHANGES, broadcast: BROADCAST };

/** A nudge for one inserted job: its queue, and its run_at when that is still ahead. */
export function hintFromRecord(record: Record<string, unknown>): WakeUpHint {
  const queue = typeof record.queue === 'string' ? record.queue : null;
  const runAt = typeof record.run_at === 'string' ? new Date(record.run_at) : null;
  const future = runAt && runAt.getTime() > Date.now() ? runAt : null;
  return { queues: queue === null ? null : [queue], count: future ? 0 : 1, nextRunAt: future };
}
