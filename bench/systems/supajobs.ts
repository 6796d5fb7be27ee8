/**
 * supajobs, postgres transport: the real Worker (driver, processor, health server, shutdown
 * coordinator) with its config from loadConfig(); the producer is the same PostgresDriver calling
 * enqueue_jobs().
 */
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { PostgresDriver } from '../../src/drivers/postgres/driver.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/migrate.js';
import { useSmallHeap } from '../../src/cli/small-heap.js';
import { Worker } from '../../src/worker.js';
import type { BenchEnv, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';
import { addSupajobsHistory } from '../lib/supajobs-history.js';

/** The config the worker runs with, besides DATABASE_URL and MAX_CONCURRENT_JOBS. */
export const SUPAJOBS_ENV = {
  HEALTH_CHECK_PORT: '0',
  HEALTH_CHECK_HOST: '127.0.0.1',
  MONITOR_INTERVAL_MS: '0',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
} as const;

export const system: BenchSystem = {
  id: 'supajobs',
  label: 'supajobs (postgres transport)',
  settings: (env) =>
    `MAX_CONCURRENT_JOBS=${env.concurrency}, defaults otherwise (pool 10, LISTEN wake-ups, health server on), ` +
    Object.entries(SUPAJOBS_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),

  async setup(env: BenchEnv): Promise<SystemRun> {
    const url = await env.createDatabase('supajobs');
    await migrate(url);
    const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
    const producer = new PostgresDriver({ connectionString: url, logger, poolSize: 2, listen: false });
    await producer.start();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    return {
      worker: { databaseUrl: url, concurrency: env.concurrency },
      async enqueue(payloads) {
        await producer.enqueueMany(payloads.map((payload) => ({ task: 'noop', payload })));
      },
      async enqueueOne(payload) {
        await producer.enqueue({ task: 'noop', payload });
      },
      async unfinished() {
        const { rows } = await admin.query<{ n: number }>("select count(*)::int as n from public.jobs where status <> 'completed'");
        return rows[0]?.n ?? 0;
      },
      addHistory: (count) => addSupajobsHistory(url, count),
      async teardown() {
        await producer.stop();
        await admin.end();
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const config = loadConfig({
      ...SUPAJOBS_ENV,
      DATABASE_URL: settings.databaseUrl as string,
      MAX_CONCURRENT_JOBS: String(settings.concurrency),
    });
    const logger = createLogger({ level: config.logLevel, pretty: false, base: { workerId: config.workerId } });
    useSmallHeap(); // as `supajobs start` does
    return startUntilClaiming((onClaiming) => new Worker({ config, logger, onClaiming, tasks: { noop: (job) => void onJob(job.payload as never) } }));
  },
};

/**
 * Ready is when the worker claims: its health server comes up right after (loading fastify), and
 * a start that then fails (a health server that cannot listen) fails the stop, and so the run.
 */
export async function startUntilClaiming(create: (onClaiming: () => void) => Worker): Promise<RunningWorker> {
  let claiming!: () => void;
  const claimed = new Promise<void>((resolve) => (claiming = resolve));
  const worker = create(() => claiming());
  const started = worker.start();
  started.catch(() => undefined); // awaited by stop()
  await Promise.race([claimed, started]);
  return {
    async stop() {
      await started;
      await worker.stop();
    },
  };
}
