/**
 * graphile-worker with the configuration of its own published performance figures: 24 concurrent
 * jobs, a pool of 25, a local queue of 500 and batched completions and failures (delay 0).
 */
import { Logger, makeWorkerUtils, run, runMigrations, type LogFunctionFactory, type RunnerOptions } from 'graphile-worker';
import pg from 'pg';
import type { BenchEnv, BenchPayload, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';

const LOCAL_QUEUE_SIZE = 500;
const MAX_POOL_SIZE = 25;

/** warn and error to stderr; graphile-worker's info lines would only be noise here. */
const quietLogFactory: LogFunctionFactory = () => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker] ${level}: ${message}\n`);
};
const logger = new Logger(quietLogFactory);

export const system: BenchSystem = {
  id: 'graphile-worker',
  label: 'graphile-worker',
  settings: (env) =>
    `concurrentJobs=${env.concurrency}, maxPoolSize=${MAX_POOL_SIZE}, localQueue.size=${LOCAL_QUEUE_SIZE}, ` +
    'completeJobBatchDelay=0, failJobBatchDelay=0, LISTEN wake-ups',

  async setup(env: BenchEnv): Promise<SystemRun> {
    const url = await env.createDatabase('graphile');
    await runMigrations({ connectionString: url, logger });
    const utils = await makeWorkerUtils({ connectionString: url, logger });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    return {
      worker: { databaseUrl: url, concurrency: env.concurrency },
      async enqueue(payloads) {
        await utils.addJobs(payloads.map((payload) => ({ identifier: 'noop', payload })));
      },
      async enqueueOne(payload) {
        await utils.addJob('noop', payload);
      },
      async unfinished() {
        // Completed jobs are deleted; whatever is left has not finished.
        const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
        return rows[0]?.n ?? 0;
      },
      async teardown() {
        await utils.release();
        await admin.end();
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const options: RunnerOptions = {
      connectionString: settings.databaseUrl as string,
      concurrency: settings.concurrency as number,
      maxPoolSize: MAX_POOL_SIZE,
      noHandleSignals: true,
      logger,
      parsedCronItems: [],
      taskList: { noop: async (payload) => void onJob(payload as BenchPayload) },
      preset: { worker: { localQueue: { size: LOCAL_QUEUE_SIZE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    };
    const runner = await run(options);
    return { stop: () => runner.stop() };
  },
};
