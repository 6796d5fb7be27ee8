import { processingWhenBusy } from './busy-moment.js';
import type { Scenario } from './types.js';
import { terminateWorkerBackends, waitForListeners } from './connections.js';

/**
 * pg_terminate_backend every worker connection (pool and LISTEN) three times: calls in flight
 * fail with 57P01, the pools open new connections, the LISTEN connections reconnect.
 */
export const backendKill: Scenario = {
  name: 'backend-kill',
  summary: 'pg_terminate_backend every worker connection, LISTEN included, 3 times',
  boundedByFaults: true,
  payload: { minMs: 5, maxMs: 50 },
  async run(ctx) {
    const gap = (ctx.options.seconds * 1000) / 4;
    for (let round = 1; round <= 3 && (await ctx.within(gap)); round++) {
      const client = await ctx.admin();
      const held = await processingWhenBusy(ctx);
      const at = Date.now();
      const killed = await terminateWorkerBackends(client);
      const listening = await waitForListeners(ctx, at, 30_000);
      ctx.faults.push({ label: `termination ${round}`, at, endedAt: at, held, seenRecoveredAt: listening });
      ctx.log(`terminated ${killed} worker connections with ${held.length} jobs in flight`);
      ctx.notes.push(
        `round ${round}: ${killed} connections terminated, ${held.length} jobs in flight; ` +
          (listening ? `every worker LISTENing again after ${((listening - at) / 1000).toFixed(1)} s` : 'LISTEN connections NOT back within 30 s'),
      );
    }
  },
  check(_figures, ctx) {
    return ctx.faults.some((f) => f.seenRecoveredAt === undefined) ? ['LISTEN connections not back after a termination'] : [];
  },
};
