import type { Scenario } from './types.js';

/**
 * Rolling restarts as a deploy does them: start a new worker, wait until it runs, SIGTERM the
 * oldest. Each stop drains (SHUTDOWN_TIMEOUT_MS 500); the 3% of jobs that take 1.5 s are released
 * instead, and only those may run again.
 */
export const sigterm: Scenario = {
  name: 'sigterm',
  summary: 'rolling SIGTERM restarts (start new, stop oldest) every ~3 s',
  workerEnv: { SHUTDOWN_TIMEOUT_MS: '500' },
  payload: { slowRate: 0.03, slowMs: 1_500 },
  async run(ctx) {
    const maxRestarts = Math.ceil(ctx.options.seconds / 2);
    for (let n = 1; n <= maxRestarts && (await ctx.within(2_500 + Math.random() * 1_000)); n++) {
      const oldest = ctx.fleet.live[0];
      if (!oldest) break;
      const replacement = await ctx.fleet.spawn();
      await replacement.waitForLog((l) => l.msg === 'worker started', 60_000);
      const at = Date.now();
      const code = await oldest.stop('SIGTERM');
      const endedAt = Date.now();
      ctx.faults.push({ label: `restart ${n} (${oldest.id})`, at, endedAt, held: [] });
      ctx.log(`${oldest.id} stopped (exit ${code}) in ${endedAt - at} ms; ${replacement.id} took over`);
    }
    ctx.notes.push(`${ctx.faults.length} rolling restarts`);
  },
  check(figures, ctx) {
    const released = ctx.fleet.lines((l) => l.msg === 'released unfinished jobs').reduce((n, { line }) => n + Number(line.released ?? 0), 0);
    ctx.notes.push(
      `${figures.released} jobs released at shutdown (${released} running, the rest claimed ahead and not started), ${figures.reExecutions} re-executed`,
    );
    return figures.reExecutions > figures.released ? [`${figures.reExecutions} re-executions exceed the ${figures.released} released jobs`] : [];
  },
};
