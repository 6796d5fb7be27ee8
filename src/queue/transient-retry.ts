import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseError } from '../errors.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';

/** Tries of a one-off call in all, the first included. */
const CALL_TRIES = 4;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

/**
 * Runs a one-off database call (an enqueue, a look-up, an operator action) again when it failed
 * with a transient DatabaseError (unreachable, 5xx, deadlock victim, serialization): a few tries
 * with the reconnect backoff. Drivers only classify failures; this is where one-off calls are
 * retried, for both transports alike (docs/architecture.md, "Retries of database calls").
 * A retried enqueue without a job_key may add a duplicate when the first try committed but its
 * answer was lost, as at-least-once delivery allows.
 */
export async function retryTransient<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof DatabaseError) || !error.transient || attempt >= CALL_TRIES) throw error;
      await sleep(reconnectBackoffMs(attempt, FIRST_DELAY_MS, MAX_DELAY_MS));
    }
  }
}
