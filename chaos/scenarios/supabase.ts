import { setTimeout as sleep } from 'node:timers/promises';
import { startSupabaseStandIn, type SupabaseStandIn } from '../../tests/support/supabase-standin/index.js';
import { busiestWorker } from './crash.js';
import { probePickUp } from './probes.js';
import type { Scenario } from './types.js';

const POLL_INTERVAL_MS = 10_000;
const PROBES = 10;
const PROBE_SIZE = 5;
let standIn: SupabaseStandIn | undefined;

/**
 * The supabase transport (RPC through PostgREST, Realtime wake-ups), through the test stand-in
 * for both services (tests/support/supabase-standin) in front of the scenario's database.
 * Alternately SIGKILL the busiest worker (and start a replacement) and cut every Realtime socket;
 * polling is slowed to 10 s so that pick-up rests on Realtime. Probes after the run show the
 * wake-ups working again.
 */
export const supabase: Scenario = {
  name: 'supabase',
  summary: 'supabase transport via the stand-in: SIGKILL the busiest worker and drop every Realtime socket, in turn',
  boundedByFaults: true,
  reservedJobs: PROBES * PROBE_SIZE,
  payload: { minMs: 5, maxMs: 50 },
  workerEnv: { POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
  async setup(ctx) {
    const s = await startSupabaseStandIn({ databaseUrl: ctx.url });
    standIn = s;
    return {
      workerEnv: { TRANSPORT: 'supabase', SUPABASE_URL: s.url, SUPABASE_SERVICE_ROLE_KEY: s.serviceRoleKey },
      cleanup: () => s.stop(),
    };
  },
  async run(ctx) {
    const s = standIn as SupabaseStandIn;
    let kills = 0;
    let drops = 0;
    const maxFaults = Math.ceil(ctx.options.seconds / 2);
    for (let n = 1; n <= maxFaults && (await ctx.within(2_000 + Math.random() * 2_000)); n++) {
      const at = Date.now();
      if (n % 2 === 1) {
        const victim = await busiestWorker(ctx);
        if (!victim) break;
        await victim.stop('SIGKILL');
        await ctx.fleet.spawn();
        await sleep(500);
        const held = await ctx.processing(victim.id);
        ctx.faults.push({ label: `kill ${++kills} (${victim.id})`, at, endedAt: at, held });
        ctx.log(`killed ${victim.id} holding ${held.length} jobs; replacement started`);
      } else {
        const joinsBefore = s.counters.joins;
        const live = ctx.fleet.live.filter((w) => w.lines.some((l) => l.msg === 'worker started')).length;
        s.dropSockets();
        let back: number | undefined;
        for (const deadline = at + 30_000; Date.now() < deadline; await sleep(50)) {
          if (s.counters.joins - joinsBefore >= live && s.channelCount >= live) {
            back = Date.now();
            break;
          }
        }
        ctx.faults.push({ label: `socket drop ${++drops}`, at, endedAt: at, held: [], seenRecoveredAt: back });
        ctx.log(back ? `dropped every Realtime socket; ${live} workers rejoined after ${back - at} ms` : 'dropped every Realtime socket; NOT rejoined within 30 s');
      }
    }
    ctx.notes.push(`${kills} workers killed with SIGKILL and replaced; every Realtime socket dropped ${drops} times`);
    await ctx.within(Number.POSITIVE_INFINITY);
    const probes = await probePickUp(ctx, PROBES, PROBE_SIZE, POLL_INTERVAL_MS * 2);
    ctx.notes.push(
      `Realtime wake-ups after the faults: ${PROBES} probes of ${PROBE_SIZE} jobs, pick-up median ${probes.median} ms, max ${probes.max} ms (POLL_INTERVAL_MS ${POLL_INTERVAL_MS}); ` +
        `stand-in: ${s.counters.socketsOpened} sockets opened, ${s.counters.joins} joins, ${[...s.counters.rpcCalls.values()].reduce((a, b) => a + b, 0)} RPC calls`,
    );
  },
  check(_figures, ctx) {
    const problems: string[] = [];
    if (ctx.faults.some((f) => f.label.startsWith('socket drop') && f.seenRecoveredAt === undefined)) problems.push('Realtime channels not rejoined after a socket drop');
    const median = Number(/median (\d+) ms/.exec(ctx.notes.find((n) => n.startsWith('Realtime wake-ups')) ?? '')?.[1] ?? Number.NaN);
    if (!(median < 1_000)) problems.push(`Realtime wake-ups not working after the faults (probe pick-up median ${median} ms)`);
    return problems;
  },
};
