import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { Logger } from '../../logger.js';
import type { JobWatch } from '../driver.js';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
let channels = 0;

/**
 * The supabase transport's job watch: a Realtime channel of its own with a postgres_changes
 * binding on UPDATE of that one row (filter id=eq.<id>). A change that ends the job nudges the
 * caller, and so does every SUBSCRIBED and every "Subscribed to PostgreSQL" (Realtime does not
 * replay what came before). Live from that system message until the channel errs or closes; the
 * caller polls whenever it is not. Stopping leaves the channel.
 */
export function watchJobByRealtime(client: SupabaseClient, logger: Logger, id: string, onChange: () => void): JobWatch {
  let live = false;
  let stopped = false;
  const channel: RealtimeChannel = client
    .channel(`supajobs-job-${id}-${++channels}`)
    .on<Record<string, unknown>>('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'jobs', filter: `id=eq.${id}` }, (payload) => {
      const status = payload.new?.status;
      if (!stopped && (typeof status !== 'string' || FINISHED.has(status))) onChange();
    })
    .on('system', {}, (payload: { extension?: string; status?: string; message?: string }) => {
      if (stopped || payload.extension !== 'postgres_changes') return;
      live = payload.status === 'ok';
      if (!live) logger.debug({ jobId: id, reason: payload.message }, 'realtime unavailable for a job watch; waiting by polling');
      onChange();
    });
  channel.subscribe((status) => {
    if (stopped) return;
    if (status === 'SUBSCRIBED') onChange();
    else live = false; // CHANNEL_ERROR, TIMED_OUT (supabase-js rejoins by itself), CLOSED (for good)
  });
  return {
    get live() {
      return live && !stopped;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      client.removeChannel(channel).catch(() => undefined);
    },
  };
}
