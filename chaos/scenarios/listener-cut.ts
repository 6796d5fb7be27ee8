import { setTimeout as sleep } from 'node:timers/promises';
import { LISTENER_APPLICATION_NAME } from '../../src/drivers/postgres/listen-wake-ups.js';
import { PgProxy } from '../tcp-proxy.js';
import { probePickUp } from './probes.js';
import type { Scenario, ScenarioContext } from './types.js';

const POLL_INTERVAL_MS = 20_000;
const PROBES = 10;
const PROBE_SIZE = 5;
let proxy: PgProxy | undefined;

/**
 * The workers reach PostgreSQL through a TCP proxy that, mid-run, silently stops forwarding on
 * every LISTEN connection (found by application_name in the startup packet) and keeps the sockets
 * open. Polling is slowed to 20 s so that pick-up depends on wake-ups: each worker must notice the
 * dead socket, reconnect, and be woken again (probes after the reconnect are picked up at once).
 */
export const listenerCut: Scenario = {
  name: 'listener-cut',
  summary: 'a proxy silently stops forwarding on every LISTEN connection (half-open)',
  boundedByFaults: true,
  reservedJobs: PROBES * PROBE_SIZE,
  workerEnv: { POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
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
    const at = Date.now();
    const cut = p.freeze(LISTENER_APPLICATION_NAME);
    ctx.log(`froze ${cut} LISTEN connections`);
    let reconnectedAt: number | undefined;
    for (const deadline = at + 90_000; Date.now() < deadline; await sleep(100)) {
      if (p.openedSince(LISTENER_APPLICATION_NAME, at) >= cut) {
        reconnectedAt = Date.now();
        break;
      }
    }
    const noticed = ctx.fleet
      .lines((l) => String(l.msg).startsWith('LISTEN connection lost') && (l.time ?? 0) >= at)
      .map(({ worker, line }) => ({ worker, after: ((line.time ?? at) - at) / 1000, error: errorMessage(line) }));
    ctx.log(reconnectedAt ? `every LISTEN connection replaced after ${((reconnectedAt - at) / 1000).toFixed(1)} s` : 'LISTEN connections NOT replaced within 90 s');
    ctx.faults.push({ label: 'LISTEN cut', at, endedAt: at, held: [], seenRecoveredAt: reconnectedAt });
    ctx.notes.push(
      `${cut} LISTEN connections frozen; ` +
        (noticed.length > 0
          ? `logged "LISTEN connection lost; polling until it is back" by ${noticed.map((n) => `${n.worker} after ${n.after.toFixed(1)} s (${n.error})`).join(', ')}`
          : 'no worker logged the loss'),
    );
    await ctx.within(Number.POSITIVE_INFINITY);
    const probes = await probePickUp(ctx, PROBES, PROBE_SIZE, POLL_INTERVAL_MS * 2);
    const phases = await pickUpByPhase(ctx, at, reconnectedAt ?? Number.POSITIVE_INFINITY);
    ctx.notes.push(`pick-up (median / max, ms) before the cut ${phases.before}, while cut ${phases.cut}, after the reconnect ${phases.after}; POLL_INTERVAL_MS ${POLL_INTERVAL_MS}`);
    ctx.notes.push(`wake-ups after the reconnect: ${PROBES} probes of ${PROBE_SIZE} jobs, pick-up median ${probes.median} ms, max ${probes.max} ms`);
  },
  check(_figures, ctx) {
    const problems: string[] = [];
    if (ctx.faults[0] && ctx.faults[0].seenRecoveredAt === undefined) problems.push('a worker kept its dead LISTEN socket (no reconnect within 90 s)');
    const probeNote = ctx.notes.find((n) => n.startsWith('wake-ups after'));
    const median = Number(/median (\d+) ms/.exec(probeNote ?? '')?.[1] ?? Number.NaN);
    if (!(median < 1_000)) problems.push(`wake-ups not working after the reconnect (probe pick-up median ${median} ms)`);
    return problems;
  },
};

/** Median and max of started_at − created_at for jobs created before the cut, while cut, and after. */
async function pickUpByPhase(ctx: ScenarioContext, cutAt: number, backAt: number): Promise<Record<'before' | 'cut' | 'after', string>> {
  const { rows } = await (await ctx.admin()).query<{ phase: 'before' | 'cut' | 'after'; median: number; max: number }>(
    `select case when created_at < to_timestamp($2 / 1000.0) then 'before'
                 when created_at < to_timestamp($3 / 1000.0) then 'cut' else 'after' end as phase,
            round(percentile_cont(0.5) within group (order by extract(epoch from started_at - created_at)) * 1000) as median,
            round(max(extract(epoch from started_at - created_at)) * 1000) as max
     from public.jobs where id = any ($1::uuid[]) and started_at is not null
     group by 1`,
    [ctx.producer.ids, cutAt, Number.isFinite(backAt) ? backAt : 32503680000000],
  );
  const cell = (phase: string) => {
    const row = rows.find((r) => r.phase === phase);
    return row ? `${row.median} / ${row.max}` : 'none';
  };
  return { before: cell('before'), cut: cell('cut'), after: cell('after') };
}

function errorMessage(line: Record<string, unknown>): string {
  const err = line.err as { message?: string } | undefined;
  return err?.message ?? 'no error';
}
