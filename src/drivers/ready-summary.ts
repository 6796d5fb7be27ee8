import type { WakeUpHint } from './driver.js';

/**
 * The database's summary of a statement that made work ready (job_notify_ready in
 * supabase/migrations): `{queues, count, next_run_at}`, sent as the NOTIFY payload and, in
 * broadcast mode, as the Realtime Broadcast payload. queues null: any queue (a statement touched
 * more than 50). Anything unreadable becomes an any-queue hint: a hint only nudges.
 */
export function hintFromReadySummary(summary: unknown): WakeUpHint {
  const data = (typeof summary === 'object' && summary !== null ? summary : {}) as { queues?: unknown; count?: unknown; next_run_at?: unknown };
  const queues = Array.isArray(data.queues) && data.queues.every((q) => typeof q === 'string') ? (data.queues as string[]) : null;
  const nextRunAt = typeof data.next_run_at === 'string' ? new Date(data.next_run_at) : null;
  return {
    queues,
    count: typeof data.count === 'number' ? data.count : 0,
    nextRunAt: nextRunAt && !Number.isNaN(nextRunAt.getTime()) ? nextRunAt : null,
  };
}
