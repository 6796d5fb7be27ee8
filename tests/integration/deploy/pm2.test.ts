/**
 * PM2 for real, with ecosystem.config.cjs: start (wait_ready), jobs running, `pm2 reload`, every
 * job completed exactly once with none failed or left processing, the old process drained and
 * exited on its own; then `pm2 delete` and `pm2 kill`. PM2 runs with a private PM2_HOME.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { freePort } from '../../support/test-server.js';
import { PROJECT_DIR, childEnv, run, runOk, waitFor } from './commands.js';

const PM2 = path.join(PROJECT_DIR, 'node_modules', 'pm2', 'bin', 'pm2');

interface PM2Process {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; pm_out_log_path: string };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('PM2 starts the worker, reloads it while jobs run, and no job is lost, failed or stuck', { timeout: 180_000 }, async () => {
  await runOk('npm', ['run', 'build', '--silent'], { env: childEnv() });

  const db = await createTestDatabase();
  const port = await freePort();
  const pm2Home = await mkdtemp(path.join(tmpdir(), 'supajobs-pm2-'));
  const env = childEnv({
    PM2_HOME: pm2Home,
    TRANSPORT: 'postgres',
    DATABASE_URL: db.url,
    HEALTH_CHECK_PORT: String(port),
    HEALTH_CHECK_HOST: '127.0.0.1',
    MAX_CONCURRENT_JOBS: '2',
    POLL_INTERVAL_MS: '500',
    MONITOR_INTERVAL_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '20000',
    LOG_LEVEL: 'info',
  });
  const pm2 = (...args: string[]) => run(process.execPath, [PM2, ...args], { env, timeoutMs: 60_000 });
  const pm2Ok = (...args: string[]) => runOk(process.execPath, [PM2, ...args], { env, timeoutMs: 60_000 });
  after(async () => {
    await pm2('kill');
    await rm(pm2Home, { recursive: true, force: true });
  });
  const processes = async () => JSON.parse((await pm2Ok('jlist')).stdout) as PM2Process[];
  const online = async () => {
    const list = await processes();
    return list.length === 1 && list[0]?.pm2_env.status === 'online' ? (list[0] as PM2Process) : undefined;
  };
  const ready = async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200;

  await pm2Ok('start', path.join(PROJECT_DIR, 'ecosystem.config.cjs'));
  await waitFor('pm2 to report the worker online', async () => (await online()) !== undefined);
  await waitFor('/ready', ready);
  const first = (await online()) as PM2Process;

  const enqueue = async (count: number) =>
    (await db.pool.query<{ id: string }>("select enqueue_job('sleep', jsonb_build_object('ms', 200)) as id from generate_series(1, $1)", [count])).rows.map((r) => r.id);
  const before = await enqueue(30);
  const completed = async () => Number((await db.pool.query("select count(*) from jobs where status = 'completed'")).rows[0].count);
  await waitFor('the first jobs to complete', async () => (await completed()) > 0);

  await pm2Ok('reload', 'supajobs');
  await waitFor('the reloaded worker online', async () => {
    const now = await online();
    return now !== undefined && now.pid !== first.pid;
  });
  await waitFor('/ready after the reload', ready);
  const second = (await online()) as PM2Process;
  assert.ok(second.pm2_env.restart_time >= 1);
  assert.equal(alive(first.pid), false, 'the old process has exited');

  const afterReload = await enqueue(20);
  const ids = [...before, ...afterReload];
  await waitFor(
    'every job to finish',
    async () => Number((await db.pool.query("select count(*) from jobs where status in ('pending', 'processing')")).rows[0].count) === 0,
    60_000,
  );
  const { rows } = await db.pool.query<{ status: string; count: string }>(
    'select status, count(*) from jobs where id = any($1::uuid[]) group by status',
    [ids],
  );
  assert.deepEqual(
    rows.map((r) => [r.status, Number(r.count)]),
    [['completed', 50]],
    'all 50 jobs completed: none lost, failed or stuck in processing',
  );
  const events = await db.pool.query<{ total: string; jobs: string; by_new: string }>(
    `select count(*) as total, count(distinct job_id) as jobs, count(*) filter (where worker_id = $1) as by_new
     from job_events where to_status = 'completed'`,
    [await healthWorkerId(port)],
  );
  assert.equal(Number(events.rows[0]?.total), 50, 'each job completed exactly once');
  assert.equal(Number(events.rows[0]?.jobs), 50);
  assert.ok(Number(events.rows[0]?.by_new) >= afterReload.length, 'the new process ran the jobs enqueued after the reload');

  // The old process drained and stopped on its own, before PM2's kill timeout.
  const log = await readFile(second.pm2_env.pm_out_log_path, 'utf8');
  const oldLines = log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l.workerId).endsWith(`-${first.pid}`));
  assert.ok(oldLines.some((l) => l.msg === 'stopped' && l.forced === false), `the old process stopped gracefully:\n${log.slice(-3000)}`);

  await pm2Ok('delete', 'supajobs');
  await waitFor('the worker process to end after pm2 delete', () => !alive(second.pid));
  assert.deepEqual(await processes(), []);
  await pm2Ok('kill');
});

/** The worker id the process on this health port reports. */
async function healthWorkerId(port: number): Promise<string> {
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workerId: string };
  return health.workerId;
}
