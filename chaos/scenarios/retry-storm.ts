import type { Scenario } from './types.js';

/**
 * Half of all executions fail with a transient error; a small per-job backoff (50 ms base, 0.5 s
 * cap, 25 attempts) lets every job finish. No fault touches a lease: no re-execution is allowed.
 */
export const retryStorm: Scenario = {
  name: 'retry-storm',
  summary: 'half the executions fail transiently; small per-job backoff',
  boundedByFaults: true,
  payload: { failRate: 0.5 },
  enqueue: { max_attempts: 25, backoff_base_seconds: 0.05, backoff_max_seconds: 0.5 },
  async run(ctx) {
    await ctx.within(ctx.options.seconds * 1000);
  },
  async check(figures, ctx) {
    const { rows } = await (await ctx.admin()).query<{ fails: string; most: number }>(
      "select count(*) filter (where outcome = 'fail') as fails, max(attempt) as most from chaos_ledger",
    );
    const fails = Number(rows[0]?.fails ?? 0);
    ctx.notes.push(
      `${fails} planned failures (${((100 * fails) / Math.max(1, figures.executions)).toFixed(1)}% of ${figures.executions} executions), ` +
        `up to ${rows[0]?.most ?? 0} attempts for one job`,
    );
    return figures.failed > 0 ? [`${figures.failed} jobs ran out of attempts`] : [];
  },
};
