import { defineTask } from '../queue/task.js';

/** Does nothing: for measuring the queue itself. */
export default defineTask({
  handler: () => undefined,
});
