import { DatabaseError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { WakeUpState } from '../driver.js';
import type { RpcCaller } from './rpc.js';

/** The reason /ready gives when broadcast wake-ups cannot work. */
export const BROADCAST_UNAVAILABLE = 'broadcast wake-ups unavailable, polling';

/**
 * Turns the database's broadcast wake-ups on (set_broadcast_wake_ups: one setting for every
 * producer, written only when it changes). Resolves to null when messages will be sent, else to
 * the poll-only state, with one warning saying why. A transient failure is thrown: the worker's
 * start tries again.
 */
export async function turnOnBroadcasts(rpc: RpcCaller, logger: Logger): Promise<WakeUpState | null> {
  let sending: boolean;
  try {
    sending = (await rpc.call<boolean | null>('set_broadcast_wake_ups', { enabled: true })) === true;
  } catch (error) {
    if (!(error instanceof DatabaseError) || error.transient) throw error;
    logger.warn({ err: error }, `${BROADCAST_UNAVAILABLE}: set_broadcast_wake_ups() failed (are the migrations applied? see docs/supabase.md)`);
    return { mode: 'poll-only', reason: BROADCAST_UNAVAILABLE };
  }
  if (sending) return null;
  logger.warn(
    {},
    `${BROADCAST_UNAVAILABLE}: the database has no realtime.send() (plain PostgreSQL, or Supabase Realtime not installed); see docs/supabase.md`,
  );
  return { mode: 'poll-only', reason: BROADCAST_UNAVAILABLE };
}
