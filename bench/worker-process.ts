/**
 * One system's worker, in a process of its own so that its RSS is its own. Started by the harness
 * (bench/lib/worker-child.ts) from a bundle of this file (bench/lib/build.ts), with its options in
 * SUPAJOBS_BENCH_WORKER. It loads only its system's module, starts the worker, and reports over IPC:
 * ready, how many throughput jobs it has executed, each pick-up probe, and at stop the time stop()
 * took and the process's peak RSS.
 */
import { hrMs } from './lib/clock.js';
import { OPTIONS_VARIABLE, type FromWorker, type ToWorker, type WorkerProcessOptions } from './lib/protocol.js';
import { loadSystem } from './systems/index.js';
import type { BenchPayload } from './systems/types.js';

const options = JSON.parse(process.env[OPTIONS_VARIABLE] ?? 'null') as WorkerProcessOptions;
const send = (message: FromWorker, then?: () => void) => {
  if (process.connected) process.send?.(message, undefined, {}, then);
  else then?.();
};
// The harness is gone: nobody is left to stop this worker.
process.on('disconnect', () => process.exit(1));

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const seen = new Uint8Array(options.expect);
let executed = 0;
let unique = 0;
let firstAt: number | undefined;
let lastAt = 0;
// No process knows when all N are done when several share them: each reports its count, and the
// harness adds them up. The stamps are the jobs' own, so the report's delay is not measured.
let reported = 0;
const reporter = setInterval(() => {
  if (unique === reported || firstAt === undefined) return;
  reported = unique;
  send({ type: 'count', unique, executed, firstAt, lastAt, cpuMs: cpuMs() });
}, 20);
reporter.unref();

function onJob(payload: BenchPayload): void {
  const at = hrMs();
  if ('p' in payload) {
    send({ type: 'pickup', seq: payload.p, at });
    return;
  }
  firstAt ??= at;
  executed++;
  if (seen[payload.i] === 0) {
    seen[payload.i] = 1;
    unique++;
    lastAt = at;
  }
}

try {
  // No system: an empty Node.js process, the baseline for start time and RSS.
  const system = options.system ? await loadSystem(options.system) : undefined;
  const worker = system ? await system.startWorker(options.worker, onJob) : { stop: async () => undefined };
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'stop') return;
    const started = hrMs();
    worker.stop().then(
      () => {
        const stopMs = hrMs() - started;
        send({ type: 'stopped', stopMs, maxRssKB: process.resourceUsage().maxRSS, executed, unique }, () => process.exit(0));
      },
      (error: unknown) => send({ type: 'error', message: `stop failed: ${(error as Error)?.message ?? String(error)}` }, () => process.exit(1)),
    );
  });
  send({ type: 'ready', at: hrMs(), cpuMs: cpuMs() });
} catch (error) {
  send({ type: 'error', message: (error as Error)?.stack ?? String(error) }, () => process.exit(1));
}
