import { setTimeout as sleep } from 'node:timers/promises';
import type { ScenarioContext } from './types.js';

/**
 * Wake-up probes: enqueues `size` jobs at a time, `rounds` times, each once the last batch was
 * claimed, and times until every job of a batch was claimed (at most timeoutMs each).
 */
export async function probePickUp(ctx: ScenarioContext, rounds: number, size: number, timeoutMs: number): Promise<{ median: number; max: number }> {
  // Behind a backlog a probe would time the queue, not the wake-up: wait until none is ready (at most 2 min).
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(100)) {
    const { rows } = await (await ctx.admin()).query<{ n: string }>(
      "select count(*) as n from public.jobs where status = 'pending' and run_at <= now()",
    );
    if (Number(rows[0]?.n) === 0) break;
  }
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const sent = Date.now();
    const ids = await ctx.producer.enqueueNow(size);
    for (const deadline = sent + timeoutMs; Date.now() < deadline; await sleep(10)) {
      const { rows } = await (await ctx.admin()).query<{ n: string }>(
        "select count(*) as n from public.jobs where id = any ($1::uuid[]) and status <> 'pending'",
        [ids],
      );
      if (Number(rows[0]?.n) === ids.length) break;
    }
    latencies.push(Date.now() - sent);
    await sleep(200);
  }
  latencies.sort((a, b) => a - b);
  return { median: latencies[Math.floor(latencies.length / 2)] ?? 0, max: latencies.at(-1) ?? 0 };
}
