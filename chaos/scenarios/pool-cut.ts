import { setTimeout as sleep } from 'node:timers/promises';
import { POOL_APPLICATION_NAME } from '../../src/drivers/postgres/listen-wake-ups.js';
import { PgProxy } from '../tcp-proxy.js';
import { processingWhenBusy } from './busy-moment.js';
import type { Scenario } from './types.js';

const QUERY_TIMEOUT_MS = 5_000;
let proxy: PgProxy | undefined;

/**
 * Like listener-cut, but the proxy silently stops forwarding on every connection of the workers'
 * pools (application_name 'supajobs'), so calls in flight (claims, heartbeats, completions) get no
 * answer. DATABASE_QUERY_TIMEOUT_MS (5 s here) must end them and the pools must open new
 * connections; the jobs in flight keep their leases or are reclaimed.
 */
export const poolCut: Scenario = {
  name: 'pool-cut',
  summary: "a proxy silently stops forwarding on every pool connection (half-open)",
  boundedByFaults: true,
  payload: { minMs: 5, maxMs: 50 },
  workerEnv: { DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS) },
  async setup(ctx) {
    const target = new URL(ctx.url);
    proxy = new PgProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const p = proxy;
    return { workerUrl: p.urlFor(ctx.url), cleanup: () => p.stop() };
  },
  async run(ctx) {
    const p = proxy as PgProxy;
    if (!(await ctx.within(ctx.options.seconds * 300))) return;
    const held = await processingWhenBusy(ctx);
    const at = Date.now();
    const cut = p.freeze(POOL_APPLICATION_NAME);
    ctx.log(`froze ${cut} pool connections with ${held.length} jobs in flight`);
    // Recovered once jobs are being completed again on new connections.
    let flowing: number | undefined;
    for (const deadline = at + 90_000; Date.now() < deadline; await sleep(100)) {
      const { rows } = await (await ctx.admin()).query<{ n: string }>(
        "select count(*) as n from public.jobs where status = 'completed' and completed_at > to_timestamp($1 / 1000.0)",
        [at],
      );
      if (Number(rows[0]?.n) > 0 && p.openedSince(POOL_APPLICATION_NAME, at) > 0) {
        flowing = Date.now();
        break;
      }
    }
    ctx.faults.push({ label: 'pool cut', at, endedAt: at, held, seenRecoveredAt: flowing });
    const timeouts = ctx.fleet.lines((l) => /Query read timeout/.test(String((l.err as { message?: string } | undefined)?.message))).length;
    ctx.notes.push(
      `${cut} pool connections frozen with ${held.length} jobs in flight; ` +
        (flowing ? `jobs completed again on new connections after ${((flowing - at) / 1000).toFixed(1)} s` : 'jobs NOT completed again within 90 s') +
        `; ${timeouts} calls timed out (DATABASE_QUERY_TIMEOUT_MS ${QUERY_TIMEOUT_MS})`,
    );
  },
  check(_figures, ctx) {
    return ctx.faults.some((f) => f.seenRecoveredAt === undefined) ? ['the workers did not recover from the silent pool connections'] : [];
  },
};
