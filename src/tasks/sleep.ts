import { setTimeout as wait } from 'node:timers/promises';
import { defineTask } from '../queue/task.js';

/** Waits `ms` milliseconds (default 1000), stopping early when the job is aborted. */
export default defineTask<{ ms: number }>({
  schema: (payload) => {
    const ms = (payload as { ms?: unknown } | null)?.ms ?? 1000;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new Error('"ms" must be a non-negative number');
    return { ms };
  },
  handler: async (job, ctx) => {
    await wait(job.payload.ms, undefined, { signal: ctx.signal });
    return { sleptMs: job.payload.ms };
  },
});
