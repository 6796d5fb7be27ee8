/** The workflow suite on the supabase transport: every step and stage call is an RPC through the stand-in. */
import { describe } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { Worker } from '../../../src/worker.js';
import { captureLogs } from '../../support/logs.js';
import { withStandIn } from '../supabase/context.js';
import { workflowSuite } from './workflow-suite.js';

const ctx = await withStandIn();
let worker: Worker | undefined;

describe('workflows on the supabase transport', () => {
  workflowSuite(
    () => ctx.db,
    async (tasks) => {
      // One database for the file: the previous test's worker stops first.
      await worker?.stop();
      const config = loadConfig({
        TRANSPORT: 'supabase',
        SUPABASE_URL: ctx.standIn.url,
        SUPABASE_SERVICE_ROLE_KEY: ctx.standIn.serviceRoleKey,
        WORKER_ID: `workflow-${Math.random().toString(36).slice(2, 8)}`,
        HEALTH_CHECK_PORT: '0',
        HEALTH_CHECK_HOST: '127.0.0.1',
        MONITOR_INTERVAL_MS: '0',
        POLL_INTERVAL_MS: '300',
      });
      const w = new Worker({ config, logger: captureLogs().logger, tasks });
      worker = w;
      ctx.cleanup(() => w.stop());
      await w.start();
      return w;
    },
  );
});
