import { defineTask } from '../queue/task.js';

/** Returns its payload as the job's result. */
export default defineTask({
  handler: (job) => job.payload,
});
