import { setFlagsFromString } from 'node:v8';

/**
 * What `supajobs start` asks of V8, once its modules are loaded: a young generation that stays the
 * size start-up left it (a few MB, not V8's default of up to 3 x 16 MB) and an old generation
 * that grows 1.2 times after a full collection instead of V8's larger factors. Under a burst, jobs
 * that live through a claim's and a completion's round trips otherwise pile up as old garbage
 * until the heap has grown a lot (docs/benchmarks.md: "Start and memory"). Set at run time, not
 * as node flags, so that every way of starting the worker gets them; left alone when the process
 * was started with heap flags of its own.
 */
export const SMALL_HEAP_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'] as const;

export function useSmallHeap(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (given.some((flag) => /semi[-_]space|heap[-_]growing/.test(flag))) return false;
  for (const flag of SMALL_HEAP_V8_FLAGS) setFlagsFromString(flag);
  return true;
}
