/**
 * The bare SQL limit: what this PostgreSQL can do for a queue table with no queue software around
 * it. A plain table of the same shape as public.jobs (its columns, defaults, constraints and
 * indexes, no triggers, no history), four connections each looping: claim a batch of 200 with one
 * `update … where id = any (array(select … for update skip locked limit 200)) returning`, call the
 * handlers, complete the batch with one UPDATE. A fifth connection LISTENs, and a pick-up probe is inserted
 * together with its pg_notify, so that pick-up too is the floor for LISTEN/NOTIFY.
 */
import pg from 'pg';
import { migrate } from '../../src/migrate.js';
import type { BenchEnv, BenchPayload, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';

const CONNECTIONS = 4;
const BATCH = 200;
const CHANNEL = 'bench_jobs';
/** Idle loops look again this often even without a notification. */
const POLL_MS = 1_000;

// `id = any(array(select …))` rather than `id in (select …)`: the same claim, but the claimed ids
// are always looked up by primary key. With `in`, once the table has statistics PostgreSQL plans a
// hash semi-join over a sequential scan of the whole table (every completed row too).
const CLAIM = `
  update bench_jobs j
  set status = 'processing', attempts = j.attempts + 1, locked_by = $1,
      lease_expires_at = now() + interval '60 seconds', started_at = now(), updated_at = now()
  where j.id = any (array(
    select id from bench_jobs
    where status = 'pending' and run_at <= now()
    order by priority desc, run_at, created_at
    limit ${BATCH}
    for update skip locked))
  returning j.id, j.payload`;

const COMPLETE = `
  update bench_jobs
  set status = 'completed', lease_expires_at = null, completed_at = now(), updated_at = now()
  where id = any($1::uuid[])`;

export const system: BenchSystem = {
  id: 'sql',
  label: 'bare SQL limit',
  settings: () =>
    `${CONNECTIONS} connections, claim ${BATCH} per UPDATE … SKIP LOCKED, one UPDATE completes the batch; table like public.jobs without triggers; ` +
    'probes inserted with their pg_notify, one LISTEN connection',

  async setup(env: BenchEnv): Promise<SystemRun> {
    const url = await env.createDatabase('sql');
    // The contract's migration only to copy the shape of public.jobs.
    await migrate(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('create table public.bench_jobs (like public.jobs including all)');
    return {
      worker: { databaseUrl: url },
      async enqueue(payloads) {
        await client.query({
          name: 'enqueue',
          text: "insert into bench_jobs (task, payload) select 'noop', p from unnest($1::jsonb[]) as p",
          values: [payloads.map((p) => JSON.stringify(p))],
        });
      },
      async enqueueOne(payload) {
        await client.query({
          name: 'enqueue_one',
          text: `with j as (insert into bench_jobs (task, payload) values ('noop', $1) returning 1) select pg_notify('${CHANNEL}', '') from j`,
          values: [JSON.stringify(payload)],
        });
      },
      async unfinished() {
        const { rows } = await client.query<{ n: number }>("select count(*)::int as n from bench_jobs where status <> 'completed'");
        return rows[0]?.n ?? 0;
      },
      async teardown() {
        await client.end();
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const url = settings.databaseUrl as string;
    const workerId = `bench-sql-${process.pid}`;
    let stopping = false;
    // Bumped by every notification: a loop that found nothing looks again at once if it moved
    // while its claim was in flight, so that a notification is never lost between the two.
    let generation = 0;
    let waiters: (() => void)[] = [];
    const wakeAll = () => {
      generation++;
      for (const wake of waiters.splice(0)) wake();
    };
    const waitForWork = (seen: number) =>
      seen !== generation || stopping
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            waiters.push(() => (clearTimeout(timer), resolve()));
          });

    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    listener.on('notification', wakeAll);
    await listener.query(`listen ${CHANNEL}`);
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        return client;
      }),
    );

    const loop = async (client: pg.Client) => {
      while (!stopping) {
        const seen = generation;
        const { rows } = await client.query<{ id: string; payload: BenchPayload }>({ name: 'claim', text: CLAIM, values: [workerId] });
        if (rows.length === 0) {
          await waitForWork(seen);
          continue;
        }
        for (const row of rows) onJob(row.payload);
        await client.query({ name: 'complete', text: COMPLETE, values: [rows.map((r) => r.id)] });
      }
    };
    const loops = clients.map(loop);

    return {
      async stop() {
        stopping = true;
        for (const wake of waiters.splice(0)) wake();
        await Promise.all(loops);
        await Promise.all([...clients, listener].map((c) => c.end()));
        waiters = [];
      },
    };
  },
};
