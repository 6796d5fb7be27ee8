/**
 * `npm run bench:fleet`: a fleet of real `supajobs start` processes on one database. In order:
 *
 *   1. backlog, 1 process: J no-op jobs in one statement, run by the first process alone;
 *   2. the other processes start; after a rest, connections per process (pg_stat_activity);
 *   3. trickle: R jobs/s, one insert each, for T seconds: claims, empty claims, pick-up;
 *   4. rest again: connections per process;
 *   5. backlog, N processes: J jobs in one statement, run by all.
 *
 * Claims come from each process's /metrics (supajobs_claims_total, supajobs_claims_empty_total);
 * pick-up is started_at - run_at of each trickle job (the database clock: the claim's start
 * minus the insert's); backlog throughput is J / (last completed_at - first started_at).
 *
 *   npm run bench:fleet -- [--processes 16] [--concurrency 8] [--rate 200] [--seconds 30]
 *                          [--backlog 20000] [--rest-ms 15000] [--database-url URL]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresDriver } from '../src/drivers/postgres/driver.js';
import { migrate } from '../src/migrate.js';
import { freePort, openDatabaseServer } from '../tests/support/database-server.js';
import { buildCli } from './lib/build.js';
import { loadAvg1m } from './lib/report.js';

const { values: flags } = parseArgs({
  options: {
    processes: { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '8' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    backlog: { type: 'string', default: '20000' },
    'rest-ms': { type: 'string', default: '15000' },
    'database-url': { type: 'string' },
  },
});
const PROCESSES = Number(flags.processes);
const CONCURRENCY = Number(flags.concurrency);
const RATE = Number(flags.rate);
const SECONDS = Number(flags.seconds);
const BACKLOG = Number(flags.backlog);
const REST_MS = Number(flags['rest-ms']);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => process.stderr.write(`# ${line} (load ${loadAvg1m()})\n`);

interface FleetProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function startProcess(cli: string, url: string, tasksDir: string, index: number): Promise<FleetProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATABASE_URL: url,
    MAX_CONCURRENT_JOBS: String(CONCURRENCY),
    HEALTH_CHECK_PORT: String(port),
    HEALTH_CHECK_HOST: '127.0.0.1',
    WORKER_ID: `fleet-${index}`,
    TASKS_DIR: tasksDir,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  };
  const child = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`worker ${index} exited (${child.exitCode})`);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ready) return { child, port, exited };
    await sleep(100);
  }
  throw new Error(`worker ${index} not ready after 60 s`);
}

/** supajobs_claims_total and supajobs_claims_empty_total, summed over the processes. */
async function claimCounts(fleet: FleetProcess[]): Promise<{ claims: number; empty: number }> {
  const texts = await Promise.all(fleet.map(async (p) => (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text()));
  const sum = (name: string) => texts.reduce((total, text) => total + Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2] ?? 0), 0);
  return { claims: sum('supajobs_claims_total'), empty: sum('supajobs_claims_empty_total') };
}

async function connectionsPerProcess(admin: pg.Client, processes: number): Promise<{ perProcess: number; listeners: number; pooled: number }> {
  const { rows } = await admin.query<{ listeners: number; pooled: number }>(
    `select count(*) filter (where application_name = 'supajobs-listener')::int as listeners,
            count(*) filter (where application_name = 'supajobs')::int as pooled
     from pg_stat_activity where datname = current_database()`,
  );
  const { listeners, pooled } = rows[0] as { listeners: number; pooled: number };
  return { perProcess: Math.round(((listeners + pooled) / processes) * 100) / 100, listeners, pooled };
}

async function waitDone(admin: pg.Client, queue: string): Promise<void> {
  for (;;) {
    const { rows } = await admin.query<{ n: number }>("select count(*)::int as n from public.jobs where queue = $1 and status <> 'completed'", [queue]);
    if (rows[0]?.n === 0) return;
    await sleep(100);
  }
}

async function backlog(producer: PostgresDriver, admin: pg.Client, fleet: FleetProcess[], queue: string) {
  const before = await claimCounts(fleet);
  await producer.enqueueMany(Array.from({ length: BACKLOG }, (_, i) => ({ task: 'noop', queue, payload: { i } })));
  await waitDone(admin, queue);
  const after = await claimCounts(fleet);
  const { rows } = await admin.query<{ seconds: number }>(
    'select extract(epoch from max(completed_at) - min(started_at))::float8 as seconds from public.jobs where queue = $1',
    [queue],
  );
  const seconds = rows[0]?.seconds ?? Number.NaN;
  const result = { jobsPerSecond: Math.round(BACKLOG / seconds), claims: after.claims - before.claims, emptyClaims: after.empty - before.empty, load: loadAvg1m() };
  log(`backlog ${queue}: ${JSON.stringify(result)}`);
  return result;
}

async function trickle(producer: PostgresDriver, admin: pg.Client, fleet: FleetProcess[]) {
  const before = await claimCounts(fleet);
  const total = RATE * SECONDS;
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  let late = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -50) late++;
    const enqueue = producer.enqueue({ task: 'noop', queue: 'trickle', payload: { i } });
    inFlight.add(enqueue);
    void enqueue.finally(() => inFlight.delete(enqueue));
    if (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const sentSeconds = (performance.now() - started) / 1000;
  await waitDone(admin, 'trickle');
  const after = await claimCounts(fleet);
  const { rows } = await admin.query<{ p50: number; p95: number; p99: number }>(
    `select percentile_cont(0.5) within group (order by w) as p50, percentile_cont(0.95) within group (order by w) as p95,
            percentile_cont(0.99) within group (order by w) as p99
     from (select extract(epoch from started_at - run_at) * 1000 as w from public.jobs where queue = 'trickle') t`,
  );
  const claims = after.claims - before.claims;
  const empty = after.empty - before.empty;
  const pickUp = rows[0] as { p50: number; p95: number; p99: number };
  const result = {
    jobs: total,
    jobsPerSecondSent: Math.round(total / sentSeconds),
    lateInserts: late,
    claims,
    emptyClaims: empty,
    emptyPercent: Math.round((empty / Math.max(claims, 1)) * 1000) / 10,
    pickUpMs: { p50: Math.round(pickUp.p50 * 10) / 10, p95: Math.round(pickUp.p95 * 10) / 10, p99: Math.round(pickUp.p99 * 10) / 10 },
    load: loadAvg1m(),
  };
  log(`trickle: ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const server = await openDatabaseServer({ givenUrl: flags['database-url'] ?? process.env.BENCH_DATABASE_URL, settings: { max_connections: 200 }, prefix: 'fleet_bench' });
  const tasksDir = await mkdtemp(path.join(tmpdir(), 'supajobs-fleet-tasks-'));
  const fleet: FleetProcess[] = [];
  let producer: PostgresDriver | undefined;
  let admin: pg.Client | undefined;
  try {
    // JavaScript task modules: the bundled worker runs without a TypeScript loader.
    await writeFile(path.join(tasksDir, 'noop.mjs'), 'export default () => undefined;\n');
    const [url, cli] = await Promise.all([server.createDatabase('fleet'), buildCli(root)]);
    await migrate(url);
    admin = new pg.Client({ connectionString: url, application_name: 'fleet-bench' });
    await admin.connect();
    producer = new PostgresDriver({ connectionString: url, poolSize: 16, listen: false });
    await producer.start();
    log(`PostgreSQL ${server.version} at ${server.address}; ${PROCESSES} processes x concurrency ${CONCURRENCY}`);

    fleet.push(await startProcess(cli, url, tasksDir, 0));
    const backlogOne = await backlog(producer, admin, fleet, 'backlog-1');
    for (let i = 1; i < PROCESSES; i++) fleet.push(await startProcess(cli, url, tasksDir, i));
    await sleep(REST_MS);
    const restBefore = await connectionsPerProcess(admin, PROCESSES);
    log(`at rest after start: ${JSON.stringify(restBefore)}`);
    const trickleResult = await trickle(producer, admin, fleet);
    await sleep(REST_MS);
    const restAfter = await connectionsPerProcess(admin, PROCESSES);
    log(`at rest after the trickle: ${JSON.stringify(restAfter)}`);
    const backlogFleet = await backlog(producer, admin, fleet, `backlog-${PROCESSES}`);
    const summary = {
      processes: PROCESSES,
      concurrency: CONCURRENCY,
      postgres: server.version,
      trickle: trickleResult,
      connectionsAtRest: { afterStart: restBefore, afterTrickle: restAfter },
      backlog: { jobs: BACKLOG, oneProcess: backlogOne, fleet: backlogFleet, ratio: Math.round((backlogFleet.jobsPerSecond / backlogOne.jobsPerSecond) * 100) / 100 },
    };
    process.stdout.write(
      [
        `| fleet | ${PROCESSES} x ${CONCURRENCY} |`,
        '|---|---|',
        `| trickle | ${trickleResult.jobs} jobs at ${trickleResult.jobsPerSecondSent}/s |`,
        `| claims (empty) | ${trickleResult.claims} (${trickleResult.emptyClaims}, ${trickleResult.emptyPercent} %) |`,
        `| pick-up p50 / p95 / p99 | ${trickleResult.pickUpMs.p50} / ${trickleResult.pickUpMs.p95} / ${trickleResult.pickUpMs.p99} ms |`,
        `| connections per process at rest | ${restBefore.perProcess} after start, ${restAfter.perProcess} after the trickle |`,
        `| backlog ${BACKLOG}: 1 process | ${backlogOne.jobsPerSecond} jobs/s (${backlogOne.claims} claims, ${backlogOne.emptyClaims} empty) |`,
        `| backlog ${BACKLOG}: ${PROCESSES} processes | ${backlogFleet.jobsPerSecond} jobs/s (${backlogFleet.claims} claims, ${backlogFleet.emptyClaims} empty), ${summary.backlog.ratio}x |`,
        `| load average (1 min) at end | ${loadAvg1m()} |`,
        '',
        JSON.stringify(summary),
        '',
      ].join('\n'),
    );
  } finally {
    for (const p of fleet) p.child.kill('SIGTERM');
    await Promise.all(fleet.map((p) => Promise.race([p.exited, sleep(20_000)])));
    for (const p of fleet) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await producer?.stop();
    await admin?.end().catch(() => undefined);
    await server.stop();
    await rm(tasksDir, { recursive: true, force: true });
  }
}

await main();
