import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseError } from '../errors.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';

/** Tries of a statement PostgreSQL aborted to break a deadlock (40P01). */
const DEADLOCK_TRIES = 5;

/**
 * Runs a call again when PostgreSQL aborted it as a deadlock victim (40P01). The aborted statement
 * changed nothing, so a retry cannot enqueue twice. enqueue_jobs locks keys in one order, so
 * its batches do not deadlock one another; a deadlock can still come from the caller's own
 * transactions or triggers on jobs.
 */
export async function retryOnDeadlock<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof DatabaseError) || error.sqlState !== '40P01' || attempt >= DEADLOCK_TRIES) throw error;
      await sleep(reconnectBackoffMs(attempt, 20, 1_000));
    }
  }
}
