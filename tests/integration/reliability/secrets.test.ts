import { WorkerProcess } from '../../support/worker-process.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EmbeddedPostgres } from '../../../src/embedded/server.js';
import { createTestDatabase } from '../../support/database.js';
import { startSupabaseStandIn } from '../../support/supabase-standin/index.js';
import { TEST_SERVER_SETTINGS, freePort } from '../../support/test-server.js';
import { waitUntil } from '../../support/worker.js';

const TASKS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tasks');

/** Everything a worker let out: its log lines, and /metrics, /health and /ready as they answered now. */
async function exposed(worker: WorkerProcess, seen: string[]): Promise<void> {
  for (const pathname of ['/metrics', '/health', '/ready']) {
    const answer = await worker.get(pathname).catch(() => ({ status: 0, body: '' }));
    seen.push(`${pathname} ${answer.status} ${answer.body}`);
  }
}

function assertNotIn(texts: string[], secret: string, what: string): void {
  for (const text of texts) assert.ok(!text.includes(secret), `${what} appears in: ${text.slice(0, 300)}`);
}

describe('secrets under faults', () => {
  test('the database password is in no log line and no health or metrics answer: down at start, terminated, restarted', async () => {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-secrets-pg-'));
    const server = new EmbeddedPostgres({ dir, port, settings: TEST_SERVER_SETTINGS });
    after(async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await server.start();
    const password = 'Pw-s3cret/with@odd:chars';
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`create role chaos_app login superuser password '${password}'`);
    await admin.end();
    const url = `postgres://chaos_app:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    await server.stop();

    const worker = await WorkerProcess.spawn({
      DATABASE_URL: url,
      TASKS_DIR,
      LOG_LEVEL: 'debug',
      LEASE_SECONDS: '5',
      RECLAIM_INTERVAL_MS: '500',
      POLL_INTERVAL_MS: '300',
      MONITOR_INTERVAL_MS: '300',
      LISTEN_CHECK_INTERVAL_MS: '1000',
    });
    after(() => worker.stop('SIGKILL'));
    const seen: string[] = [];
    await worker.waitForLog((l) => l.msg === 'database unreachable at start; trying again', 30_000);
    await worker.waitForLog((l) => l.msg === 'health server listening', 30_000);
    await exposed(worker, seen);
    await server.start();
    await worker.waitForLog((l) => l.msg === 'worker started', 60_000);

    const db = new pg.Pool({ connectionString: server.url, max: 2 });
    // pool.end() resolves before its sockets close, so the server.stop() below may still reach an
    // idle client: that is the fault under test, not a failure of it.
    db.on('error', () => undefined);
    after(() => (db.ended ? undefined : db.end()));
    const enqueue = (task: string, n = 1) =>
      db.query(`select enqueue_jobs((select jsonb_agg(jsonb_build_object('task', $1::text, 'max_attempts', 1)) from generate_series(1, $2::int)))`, [task, n]);
    await enqueue('leaky', 3);
    await enqueue('quick', 20);
    await waitUntil(async () => (await db.query("select count(*)::int as n from jobs where status in ('pending', 'processing')")).rows[0].n === 0);
    await db.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'supajobs%'");
    await enqueue('leaky', 2);
    await exposed(worker, seen);
    await db.end().catch(() => undefined);
    await server.stop();
    await waitUntil(async () => (await worker.get('/ready')).status === 503, 20_000);
    await exposed(worker, seen);
    await sleep(1_500);
    await server.start();
    await waitUntil(async () => (await worker.get('/ready')).status === 200, 30_000);
    const again = new pg.Client({ connectionString: server.url });
    await again.connect();
    await again.query("select enqueue_job('leaky', max_attempts => 1)");
    await waitUntil(async () => (await again.query("select count(*)::int as n from jobs where status in ('pending', 'processing')")).rows[0].n === 0, 30_000);
    await again.end();
    await exposed(worker, seen);
    assert.equal(await worker.stop('SIGTERM'), 0);

    const lines = worker.output.split('\n');
    assert.ok(lines.some((l) => l.includes('connecting to postgres://chaos_app:[REDACTED]@')), 'the leaky handler did log its URL, masked');
    assert.ok(lines.some((l) => l.includes('database unreachable at start')), 'the start-up fault was logged');
    for (const secret of [password, encodeURIComponent(password)]) {
      assertNotIn(lines, secret, 'the password');
      assertNotIn(seen, secret, 'the password');
    }
    // /health and /ready: no connection details at all.
    for (const answer of seen.filter((s) => s.startsWith('/health') || s.startsWith('/ready'))) {
      for (const detail of ['127.0.0.1', String(port), 'chaos_app', 'postgres://', 'postgres:']) {
        assert.ok(!answer.includes(detail), `${detail} in ${answer}`);
      }
    }
  });

  test('the service_role key is in no log line and no health or metrics answer: RPC failures, dropped and closed sockets', async () => {
    const db = await createTestDatabase();
    const standIn = await startSupabaseStandIn({ databaseUrl: db.url });
    after(() => standIn.stop());
    const key = standIn.serviceRoleKey;
    const worker = await WorkerProcess.spawn({
      SUPABASE_URL: standIn.url,
      SUPABASE_SERVICE_ROLE_KEY: key,
      TASKS_DIR,
      LOG_LEVEL: 'debug',
      // An outcome refused by an injected 401 comes back through its lease: keep that short.
      LEASE_SECONDS: '5',
      RECLAIM_INTERVAL_MS: '500',
      POLL_INTERVAL_MS: '300',
      MONITOR_INTERVAL_MS: '300',
    });
    after(() => worker.stop('SIGKILL'));
    await worker.waitForLog((l) => l.msg === 'worker started', 30_000);
    const seen: string[] = [];
    const enqueue = (task: string, n = 1) =>
      db.pool.query(`select enqueue_jobs((select jsonb_agg(jsonb_build_object('task', $1::text, 'max_attempts', 1)) from generate_series(1, $2::int)))`, [task, n]);
    const settled = () =>
      waitUntil(async () => (await db.pool.query("select count(*)::int as n from jobs where status in ('pending', 'processing')")).rows[0].n === 0, 30_000);
    await enqueue('leaky', 2);
    await enqueue('quick', 10);
    await settled();
    standIn.failNextRpc(4, 503);
    standIn.failNextRpc(2, 'network');
    standIn.dropSockets();
    await enqueue('leaky', 2);
    await exposed(worker, seen);
    await settled();
    standIn.closeChannels();
    standIn.failNextRpc(3, 401);
    await enqueue('quick', 5);
    await exposed(worker, seen);
    await settled();
    await exposed(worker, seen);
    assert.equal(await worker.stop('SIGTERM'), 0);

    const lines = worker.output.split('\n');
    assert.ok(lines.some((l) => l.includes('could not reach [REDACTED]')), 'the leaky handler did put the key in its error, masked');
    assertNotIn(lines, key, 'the service_role key');
    assertNotIn(seen, key, 'the service_role key');
    assertNotIn([...lines, ...seen], key.split('.').at(-1) as string, "the key's signature");
    for (const answer of seen.filter((s) => s.startsWith('/health') || s.startsWith('/ready'))) {
      assert.ok(!answer.includes(new URL(standIn.url).host), `the stand-in's address in ${answer}`);
    }
  });
});
