import { defineTask } from '../../../../src/queue/task.js';

export default defineTask({ handler: (_job, ctx) => ({ by: ctx.workerId }) });
