/**
 * The systems `npm run bench` knows, in table order. Each is loaded only when run, so that a worker
 * process holds nothing but its own system's code. To add one: a module exporting
 * `system: BenchSystem` (see ./types.ts), and a line here.
 */
import type { BenchSystem } from './types.js';

export const SYSTEMS: Record<string, () => Promise<{ system: BenchSystem }>> = {
  supajobs: () => import('./supajobs.js'),
  'supajobs-supabase': () => import('./supajobs-supabase.js'),
  'graphile-worker': () => import('./graphile-worker.js'),
  'pg-boss': () => import('./pg-boss.js'),
  bullmq: () => import('./bullmq.js'),
  sql: () => import('./sql-limit.js'),
};

export async function loadSystem(id: string): Promise<BenchSystem> {
  const load = SYSTEMS[id];
  if (!load) throw new Error(`unknown system "${id}" (known: ${Object.keys(SYSTEMS).join(', ')})`);
  return (await load()).system;
}
