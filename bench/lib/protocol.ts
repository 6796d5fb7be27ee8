/** Messages between the harness and a worker process (bench/worker-process.ts), over Node's IPC channel. */
import type { WorkerSettings } from '../systems/types.js';

/** Given to the worker process in the SUPAJOBS_BENCH_WORKER environment variable (JSON). */
export interface WorkerProcessOptions {
  /** A bench/systems id; '' for an empty process (the Node.js baseline). */
  system: string;
  worker: WorkerSettings;
  /** Throughput jobs (payload `i` in 0..expect-1) there are, over all worker processes; 0: none. */
  expect: number;
}

/** Times are hrMs() stamps (system-wide monotonic clock); cpuMs: the process's CPU time so far (user + system). */
export type FromWorker =
  | { type: 'ready'; at: number; cpuMs: number }
  /** Sent every few ms while it changes: distinct throughput jobs executed so far, the first and latest at. */
  | { type: 'count'; unique: number; executed: number; firstAt: number; lastAt: number; cpuMs: number }
  | { type: 'pickup'; seq: number; at: number }
  | { type: 'stopped'; stopMs: number; maxRssKB: number; executed: number; unique: number }
  | { type: 'error'; message: string };

export type ToWorker = { type: 'stop' };

export const OPTIONS_VARIABLE = 'SUPAJOBS_BENCH_WORKER';
