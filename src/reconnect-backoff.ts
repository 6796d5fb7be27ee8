/**
 * Reconnect backoff: how long the worker waits before trying a connection or a database call
 * again (LISTEN and Realtime reconnects, the database at start, claims, RPC and outcome retries).
 * Not the job retry backoff: a failed job's next run_at is computed in SQL by
 * public.job_backoff_delay() (supabase/migrations/20261123000300_queue_functions.sql).
 */

/** Delay before attempt n (1-based): exponential from baseMs, capped at maxMs, with full jitter in the upper half. */
export function reconnectBackoffMs(attempt: number, baseMs = 250, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
