/**
 * The interface every benchmarked system implements: one module per system in bench/systems/,
 * exporting `system: BenchSystem`, listed in bench/systems/index.ts. The harness (bench/run.ts)
 * drives every system through the same steps, in this order:
 *
 *   1. unavailable()   parent  Why the system cannot run here (e.g. Redis does not answer), or null.
 *   2. setup(env)      parent  Fresh storage for this run (env.createDatabase() gives a new, empty
 *                              database on the benchmark's PostgreSQL), schema installed, a producer
 *                              connected. Returns a SystemRun.
 *   3. run.enqueue()   parent  "enqueue N": called with batches of `--enqueue-batch` payloads, one
 *                              call per batch, one batch at a time; the harness times all of them.
 *   4. startWorker()   child   "run until N executed": the harness spawns one worker process per
 *                              system (so that peak RSS is the worker's own) which calls
 *                              startWorker(run.worker, onJob) and reports ready when it resolves.
 *                              The handler must call onJob(payload) once per execution, first
 *                              thing, and do nothing else (a no-op job).
 *   5. run.unfinished() parent  Jobs not yet completed (pending, running, or completed but not yet
 *                              recorded). The harness waits for 0 after the worker has executed N.
 *   6. run.enqueueOne() parent  "measure pickup": one job at a time into the idle worker, after a
 *                              short random pause; the pick-up latency is from just before this
 *                              call to the handler's onJob call (both stamped with the
 *                              system-wide monotonic clock).
 *   7. RunningWorker.stop()    child  Graceful stop of the idle worker (idle stop ms); later also
 *                              in a few fresh start/stop cycles on the now existing database
 *                              (start-to-ready ms: process spawn to startWorker resolved).
 *   8. run.teardown()  parent  Close producers, drop what setup created.
 *
 * Everything in `run.worker` crosses a process boundary: JSON values only.
 */

/** What a job carries: `i` (0..N-1) for the throughput run, `p` (sample number) for pick-up probes. */
export type BenchPayload = { i: number } | { p: number };

export interface BenchEnv {
  /** A new, empty database on the benchmark's PostgreSQL; dropped by the harness after teardown. */
  createDatabase(label: string): Promise<string>;
  /** Jobs a worker may run at once (`--concurrency`, default 24). */
  concurrency: number;
  /** Where Redis is expected (127.0.0.1:6379). */
  redis: { host: string; port: number };
}

export interface SystemRun {
  /** Handed to startWorker() in the worker process (JSON only). */
  worker: WorkerSettings;
  enqueue(payloads: BenchPayload[]): Promise<void>;
  enqueueOne(payload: BenchPayload): Promise<void>;
  unfinished(): Promise<number>;
  /**
   * Optional, for a system behind an API: calls received so far, by function. The harness reads it
   * just before the throughput worker starts and once every job is completed, and reports the
   * difference per job as rpcPerJob.
   */
  rpcCalls?(): Record<string, number>;
  /** Optional (`--history`): count completed jobs, as the system keeps them, put in before the run. */
  addHistory?(count: number): Promise<void>;
  teardown(): Promise<void>;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type WorkerSettings = { [key: string]: Json };

export interface RunningWorker {
  /** Graceful stop: stop claiming, finish what runs, close connections. */
  stop(): Promise<void>;
}

export interface BenchSystem {
  /** The `--systems` name. */
  id: string;
  /** The table's row name. */
  label: string;
  /** The settings it runs with, one line, for the notes under the table. */
  settings(env: BenchEnv): string;
  /**
   * For a system that only polls: its poll interval (ms). Pick-up probes then wait a random part
   * of it first, so that they land at random phases of the poll rather than in step with it.
   */
  pickupSpreadMs?: number;
  unavailable?(env: BenchEnv): Promise<string | null>;
  setup(env: BenchEnv): Promise<SystemRun>;
  startWorker(settings: WorkerSettings, onJob: (payload: BenchPayload) => void): Promise<RunningWorker>;
}
