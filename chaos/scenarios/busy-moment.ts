import { setTimeout as sleep } from 'node:timers/promises';
import type { ScenarioContext } from './types.js';

/**
 * The jobs processing now, waiting up to a second for a moment when there are some: jobs arrive
 * in a batch every 100 ms, so a fault at a random instant often finds the workers idle.
 */
export async function processingWhenBusy(ctx: ScenarioContext): Promise<string[]> {
  let held = await ctx.processing();
  for (let look = 0; look < 40 && held.length === 0; look++) {
    await sleep(25);
    held = await ctx.processing();
  }
  return held;
}
