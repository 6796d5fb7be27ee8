import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosWorker } from '../worker-process.js';
import type { Scenario, ScenarioContext } from './types.js';

/**
 * SIGKILL a worker every few seconds (the one holding the most jobs at a moment when one holds
 * some, so that a kill leaves work behind) and start a replacement at once. The dead worker's
 * jobs wait for their leases to expire and are reclaimed; re-executions stay within the jobs it
 * held when it died.
 */
export const crash: Scenario = {
  name: 'crash',
  summary: 'SIGKILL the busiest worker every ~3 s, start a replacement',
  boundedByFaults: true,
  // Long enough that a killed worker usually holds some jobs.
  payload: { minMs: 5, maxMs: 50 },
  async run(ctx) {
    const maxKills = Math.ceil(ctx.options.seconds / 2);
    for (let kill = 1; kill <= maxKills && (await ctx.within(2_000 + Math.random() * 2_000)); kill++) {
      const victim = await busiestWorker(ctx);
      if (!victim) break;
      const at = Date.now();
      await victim.stop('SIGKILL');
      await ctx.fleet.spawn();
      // A statement the dead worker had sent may still commit: let it, then see what it held.
      await sleep(500);
      const held = await ctx.processing(victim.id);
      ctx.faults.push({ label: `kill ${kill} (${victim.id})`, at, endedAt: at, held });
      ctx.log(`killed ${victim.id} holding ${held.length} jobs; replacement started`);
    }
    ctx.notes.push(`${ctx.faults.length} workers killed with SIGKILL and replaced`);
  },
};

/** The live, started worker that holds the most processing jobs (a random one if none holds any). */
export async function busiestWorker(ctx: ScenarioContext): Promise<ChaosWorker | undefined> {
  const started = ctx.fleet.live.filter((w) => w.lines.some((l) => l.msg === 'worker started'));
  // Jobs arrive in a batch every 100 ms: look a few times for a moment when some worker holds any.
  for (let look = 0; look < 20; look++) {
    const { rows } = await (await ctx.admin()).query<{ worker: string }>(
      "select locked_by as worker from public.jobs where status = 'processing' group by 1 order by count(*) desc",
    );
    const busiest = rows.map((r) => started.find((w) => w.id === r.worker)).find(Boolean);
    if (busiest) return busiest;
    await sleep(25);
  }
  return started[Math.floor(Math.random() * started.length)];
}
