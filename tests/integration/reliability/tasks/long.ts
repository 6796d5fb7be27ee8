import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from '../../../../src/queue/task.js';

/** Sleeps payload.ms (abortable). */
export default defineTask<{ ms: number }>({
  handler: async (job, ctx) => {
    await sleep(job.payload.ms, undefined, { signal: ctx.signal });
    return { by: ctx.workerId };
  },
});
