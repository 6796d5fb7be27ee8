import { defineTask } from '../../../../src/queue/task.js';

/** Its first attempt blocks the event loop for payload.ms (no heartbeat can run); later attempts return at once. */
export default defineTask<{ ms: number }>({
  handler: (job, ctx) => {
    if (ctx.attempt === 1) {
      const until = performance.now() + job.payload.ms;
      while (performance.now() < until) {
        // busy: a synchronous computation that never yields
      }
    }
    return { by: ctx.workerId, attempt: ctx.attempt };
  },
});
