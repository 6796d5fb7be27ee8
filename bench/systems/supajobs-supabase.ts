/**
 * supajobs, supabase transport: the real Worker with TRANSPORT=supabase, so every queue operation
 * is an RPC through PostgREST and every wake-up a Realtime change. There is no Supabase here: the
 * test stand-in for PostgREST and Realtime (tests/support/supabase-standin) runs in the harness's
 * process in front of the benchmark's database, on 127.0.0.1. Its numbers are those of the
 * transport's round trips on loopback, not of a hosted project (no Kong, no network, and the
 * stand-in's own costs instead of PostgREST's and Realtime's).
 *
 * The producer is a SupabaseDriver too (enqueue_jobs / enqueue_job through RPC, no Realtime).
 * rpcCalls() gives the stand-in's RPC counters, from which the harness reports RPC round trips
 * per job of the throughput run.
 */
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/migrate.js';
import { useSmallHeap } from '../../src/cli/small-heap.js';
import { Worker } from '../../src/worker.js';
import { SUPAJOBS_ENV, startUntilClaiming } from './supajobs.js';
import type { BenchEnv, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';
import { addSupajobsHistory } from '../lib/supajobs-history.js';

export const system: BenchSystem = {
  id: 'supajobs-supabase',
  label: 'supajobs (supabase transport)',
  settings: (env) =>
    `MAX_CONCURRENT_JOBS=${env.concurrency}, TRANSPORT=supabase (RPC through PostgREST, Realtime wake-ups, retries and timeouts at their defaults), ` +
    Object.entries(SUPAJOBS_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') +
    '; through the test stand-in for PostgREST and Realtime, in the harness process, on loopback',

  async setup(env: BenchEnv): Promise<SystemRun> {
    const url = await env.createDatabase('supajobs_supabase');
    await migrate(url);
    // Loaded here (harness process only): the worker process's bundle needs none of it.
    const { startSupabaseStandIn } = await import('../../tests/support/supabase-standin/index.js');
    const { SupabaseDriver } = await import('../../src/drivers/supabase/driver.js');
    const standIn = await startSupabaseStandIn({ databaseUrl: url });
    const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr, secrets: [standIn.serviceRoleKey] });
    const producer = new SupabaseDriver({ url: standIn.url, serviceRoleKey: standIn.serviceRoleKey, logger, realtime: false });
    const admin = new pg.Client({ connectionString: url });
    try {
      await producer.start();
      await admin.connect();
    } catch (error) {
      await producer.stop();
      await standIn.stop();
      throw error;
    }
    return {
      worker: { supabaseUrl: standIn.url, serviceRoleKey: standIn.serviceRoleKey, concurrency: env.concurrency },
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
      rpcCalls: () => Object.fromEntries(standIn.counters.rpcCalls),
      addHistory: (count) => addSupajobsHistory(url, count),
      async teardown() {
        await producer.stop();
        await admin.end();
        await standIn.stop();
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const config = loadConfig({
      ...SUPAJOBS_ENV,
      TRANSPORT: 'supabase',
      SUPABASE_URL: settings.supabaseUrl as string,
      SUPABASE_SERVICE_ROLE_KEY: settings.serviceRoleKey as string,
      MAX_CONCURRENT_JOBS: String(settings.concurrency),
    });
    const logger = createLogger({
      level: config.logLevel,
      pretty: false,
      base: { workerId: config.workerId },
      secrets: [config.supabaseServiceRoleKey],
    });
    useSmallHeap(); // as `supajobs start` does
    return startUntilClaiming((onClaiming) => new Worker({ config, logger, onClaiming, tasks: { noop: (job) => void onJob(job.payload as never) } }));
  },
};
