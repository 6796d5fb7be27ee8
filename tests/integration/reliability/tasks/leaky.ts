import { defineTask } from '../../../../src/queue/task.js';

/** A careless handler: logs the connection URL and fails with it in the message (the logger must mask the password). */
export default defineTask({
  handler: (_job, ctx) => {
    ctx.logger.info({ url: process.env.DATABASE_URL, key: process.env.SUPABASE_SERVICE_ROLE_KEY }, `connecting to ${process.env.DATABASE_URL}`);
    throw new Error(`could not reach ${process.env.DATABASE_URL ?? process.env.SUPABASE_SERVICE_ROLE_KEY}`);
  },
});
