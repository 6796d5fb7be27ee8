/**
 * BullMQ on the Redis at 127.0.0.1:6379 (skipped when it does not answer PING), with the settings
 * its docs give for throughput: a concurrency factor (100 here: faster than 24 or their example's
 * 50 on this benchmark) and finished jobs removed at once (removeOnComplete / removeOnFail). Each
 * run uses a queue of its own, obliterated after.
 *
 * bullmq is not a dev dependency: its native msgpackr-extract has platform packages that not
 * every registry mirror carries, which breaks `npm ci`. Install it to compare:
 * `npm install --no-save bullmq`; without it this system is skipped.
 */
import { Socket } from 'node:net';
import type { BenchEnv, BenchPayload, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';

const CONCURRENCY = 100;

export const system: BenchSystem = {
  id: 'bullmq',
  label: 'BullMQ (Redis)',
  settings: () => `concurrency=${CONCURRENCY}, removeOnComplete=true, removeOnFail=true, addBulk for batches; Redis memory not in RSS`,

  async unavailable(env: BenchEnv) {
    if (!(await loadBullmq().then(() => true, () => false))) return 'bullmq is not installed (npm install --no-save bullmq)';
    const answer = await redisPing(env.redis.host, env.redis.port);
    return answer === 'PONG' ? null : `no Redis on ${env.redis.host}:${env.redis.port} (${answer})`;
  },

  async setup(env: BenchEnv): Promise<SystemRun> {
    const name = `supajobs-bench-${process.pid}-${Date.now()}`;
    const connection = { host: env.redis.host, port: env.redis.port };
    const { Queue } = await loadBullmq();
    const queue = new Queue(name, {
      connection,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    await queue.waitUntilReady();
    return {
      worker: { queue: name, host: env.redis.host, port: env.redis.port },
      async enqueue(payloads) {
        await queue.addBulk(payloads.map((data) => ({ name: 'noop', data })));
      },
      async enqueueOne(payload) {
        await queue.add('noop', payload);
      },
      async unfinished() {
        const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
        return (Object.values(counts) as number[]).reduce((sum, n) => sum + n, 0);
      },
      async teardown() {
        await queue.obliterate({ force: true });
        await queue.close();
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const { Worker } = await loadBullmq();
    const worker = new Worker(settings.queue as string, async (job: { data: BenchPayload }) => void onJob(job.data), {
      connection: { host: settings.host as string, port: settings.port as number },
      concurrency: CONCURRENCY,
    });
    worker.on('error', (error: Error) => process.stderr.write(`[bullmq] ${error.message}\n`));
    await worker.waitUntilReady();
    return { stop: () => worker.close() };
  },
};

// A specifier TypeScript does not resolve: the package is optional.
const BULLMQ = 'bullmq';
const loadBullmq = (): Promise<any> => import(BULLMQ);

/** 'PONG', or why not: a bare RESP PING so that the check itself needs no client library. */
function redisPing(host: string, port: number, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (answer: string) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done('timed out'));
    socket.once('error', (error) => done(error.message));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') ? 'PONG' : reply.trim());
    });
    socket.connect(port, host, () => socket.write('*1\r\n$4\r\nPING\r\n'));
  });
}
