import { processingWhenBusy } from './busy-moment.js';
import type { Scenario } from './types.js';
import { waitForListeners } from './connections.js';

/**
 * Restart PostgreSQL mid-run (down ~3 s): every connection breaks, calls fail until it is back,
 * leases may expire meanwhile. The embedded server is stopped and started; CHAOS_DATABASE_URL's
 * local server only with --allow-service-restart.
 */
export const pgRestart: Scenario = {
  name: 'pg-restart',
  summary: 'restart PostgreSQL mid-run (down ~3 s)',
  boundedByFaults: true,
  payload: { minMs: 5, maxMs: 50 },
  unavailable: (server) => server.restartUnavailable,
  async run(ctx) {
    if (!(await ctx.within(ctx.options.seconds * 350))) return;
    const held = await processingWhenBusy(ctx);
    ctx.producer.pause();
    const at = Date.now();
    ctx.log(`stopping PostgreSQL with ${held.length} jobs in flight`);
    try {
      await ctx.server.restart(3_000);
    } finally {
      ctx.producer.resume();
    }
    const endedAt = Date.now();
    ctx.log(`PostgreSQL is back after ${((endedAt - at) / 1000).toFixed(1)} s`);
    // Connections opened since the stop began: a listener may be back before restart() returns.
    const listening = await waitForListeners(ctx, at, 60_000);
    ctx.faults.push({ label: 'restart', at, endedAt, held, seenRecoveredAt: listening });
    ctx.notes.push(
      `PostgreSQL down ${((endedAt - at) / 1000).toFixed(1)} s with ${held.length} jobs in flight; ` +
        (listening ? `every worker LISTENing again ${((listening - endedAt) / 1000).toFixed(1)} s after it was back` : 'LISTEN connections NOT back within 60 s'),
    );
  },
  check(_figures, ctx) {
    return ctx.faults.some((f) => f.seenRecoveredAt === undefined) ? ['LISTEN connections not back after the restart'] : [];
  },
};
