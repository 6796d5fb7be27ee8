import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SAME_STOP_REQUEST_MS } from '../../../src/shutdown.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { freePort, startEmbeddedTestServer } from '../../support/test-server.js';
import { waitForJobs, waitUntil } from '../../support/worker.js';
import { FIXTURE_TASKS_DIR, WorkerProcess, runCli } from '../../support/worker-process.js';

const workerEnv = (db: TestDatabase, extra: Record<string, string> = {}) => ({
  DATABASE_URL: db.url,
  TASKS_DIR: FIXTURE_TASKS_DIR,
  POLL_INTERVAL_MS: '500',
  MONITOR_INTERVAL_MS: '0',
  ...extra,
});

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-cli-'));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('supajobs CLI and worker process', () => {
  test('200 jobs with mixed outcomes end in the right state, with their history', async () => {
    const db = await createTestDatabase();
    const worker = await WorkerProcess.start(workerEnv(db, { MAX_CONCURRENT_JOBS: '20' }));
    const plan: [string, unknown, number, Record<string, unknown>][] = [
      ['ok', { i: 1 }, 120, {}],
      ['flaky', {}, 30, { backoffBaseSeconds: 0 }],
      ['permanent', {}, 20, {}],
      ['slow', {}, 10, { maxAttempts: 1 }],
      ['no-such-task', {}, 10, {}],
      ['typed', { n: 'not a number' }, 10, {}],
    ];
    const lines = plan.flatMap(([task, payload, count, extra]) =>
      Array.from({ length: count }, () => JSON.stringify({ task, payload, ...extra })),
    );
    const file = await tempFile('jobs.ndjson', `${lines.join('\n')}\n`);
    const enqueued = await runCli(['enqueue', '--file', file], { DATABASE_URL: db.url });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    assert.match(enqueued.stderr, /enqueued 200 jobs/);

    const { rows: all } = await db.pool.query('select id from jobs');
    assert.equal(all.length, 200);
    await waitForJobs(db, all.map((r) => r.id), 60_000);
    const { rows } = await db.pool.query(
      'select task, status, error_code, attempts, count(*)::int as n from jobs group by 1, 2, 3, 4 order by 1, 2, 3, 4',
    );
    assert.deepEqual(rows, [
      { task: 'flaky', status: 'completed', error_code: 'HANDLER_ERROR', attempts: 2, n: 30 },
      { task: 'no-such-task', status: 'failed', error_code: 'UNKNOWN_TASK', attempts: 1, n: 10 },
      { task: 'ok', status: 'completed', error_code: null, attempts: 1, n: 120 },
      { task: 'permanent', status: 'failed', error_code: 'BAD_DOCUMENT', attempts: 1, n: 20 },
      { task: 'slow', status: 'failed', error_code: 'TIMEOUT', attempts: 1, n: 10 },
      { task: 'typed', status: 'failed', error_code: 'INVALID_PAYLOAD', attempts: 1, n: 10 },
    ]);
    // History: every job enqueued once; every claim, retry and end recorded.
    const { rows: events } = await db.pool.query(
      'select task, event, count(*)::int as n from job_events group by 1, 2 order by 1, 2',
    );
    const count = (task: string, event: string) => events.find((e) => e.task === task && e.event === event)?.n ?? 0;
    assert.equal(count('ok', 'enqueued'), 120);
    assert.equal(count('ok', 'processing'), 120);
    assert.equal(count('ok', 'completed'), 120);
    assert.equal(count('flaky', 'processing'), 60);
    assert.equal(count('flaky', 'pending'), 30);
    assert.equal(count('flaky', 'completed'), 30);
    assert.equal(count('permanent', 'failed'), 20);
    assert.equal(await worker.stop('SIGTERM'), 0);
  });

  test('SIGTERM drains running jobs; a job that outlives the timeout is released and done by the next worker', async () => {
    const db = await createTestDatabase();
    const first = await WorkerProcess.start(workerEnv(db, { SHUTDOWN_TIMEOUT_MS: '1500' }));
    const { rows: quick } = await db.pool.query("select enqueue_job('staged', '{\"ms\": 300}') as id");
    const { rows: long } = await db.pool.query("select enqueue_job('staged', '{\"ms\": 20000}') as id");
    await waitUntil(async () => (await db.pool.query("select count(*)::int as n from jobs where status = 'processing'")).rows[0].n === 2);
    assert.equal(await first.stop('SIGTERM'), 0);
    const states = new Map((await db.pool.query('select id, status, attempts, error_code from jobs')).rows.map((r) => [r.id, r]));
    assert.equal(states.get(quick[0].id)?.status, 'completed');
    assert.deepEqual(
      { status: states.get(long[0].id)?.status, attempts: states.get(long[0].id)?.attempts, code: states.get(long[0].id)?.error_code },
      { status: 'pending', attempts: 0, code: 'RELEASED' },
    );
    assert.ok(first.lines().some((l) => l.msg === 'released unfinished jobs'));

    await db.pool.query("update jobs set payload = '{\"ms\": 50}' where id = $1", [long[0].id]);
    const second = await WorkerProcess.start(workerEnv(db));
    const done = await waitForJobs(db, [long[0].id]);
    assert.equal(done.get(long[0].id)?.status, 'completed');
    assert.equal(done.get(long[0].id)?.attempts, 1);
    assert.equal(await second.stop('SIGINT'), 0);
  });

  test('a second signal stops at once, releasing the running job (exit 1)', async () => {
    const db = await createTestDatabase();
    const worker = await WorkerProcess.start(workerEnv(db, { SHUTDOWN_TIMEOUT_MS: '600000' }));
    const { rows } = await db.pool.query("select enqueue_job('staged', '{\"ms\": 600000}') as id");
    await waitUntil(async () => (await db.pool.query("select status from jobs where id = $1", [rows[0].id])).rows[0].status === 'processing');
    worker.child.kill('SIGTERM');
    await worker.waitForLog((l) => l.msg === 'draining running jobs');
    // A signal sooner than this after the first is taken as the same request (through a launcher).
    await sleep(SAME_STOP_REQUEST_MS + 100);
    assert.equal(await worker.stop('SIGTERM'), 1);
    const { rows: after } = await db.pool.query('select status, attempts from jobs where id = $1', [rows[0].id]);
    assert.deepEqual(after[0], { status: 'pending', attempts: 0 });
  });

  test('/health, /ready and /metrics; /ready is 503 while the database is down, and the worker recovers', async () => {
    const server = await startEmbeddedTestServer();
    try {
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('create database app');
      await admin.end();
      const url = server.url.replace(/\/postgres$/, '/app');
      const worker = await WorkerProcess.start({ DATABASE_URL: url, TASKS_DIR: FIXTURE_TASKS_DIR, POLL_INTERVAL_MS: '300' });
      const health = await worker.get('/health');
      assert.equal(health.status, 200);
      const body = JSON.parse(health.body);
      assert.equal(body.status, 'ok');
      assert.equal(typeof body.uptime, 'number');
      assert.ok(body.workerId && body.version && body.timestamp);
      const ready = await worker.get('/ready');
      assert.equal(ready.status, 200, ready.body);
      assert.equal(JSON.parse(ready.body).wakeUps, 'live');

      await runCli(['enqueue', 'ok', '{"x":1}'], { DATABASE_URL: url });
      await waitUntil(async () => (await worker.get('/metrics')).body.includes('supajobs_jobs_completed_total{task="ok"} 1'));
      const metrics = (await worker.get('/metrics')).body;
      for (const name of ['supajobs_job_duration_seconds_bucket', 'supajobs_jobs_in_flight', 'supajobs_jobs_failed_total', 'supajobs_jobs_retried_total', 'supajobs_queue_jobs']) {
        assert.ok(metrics.includes(name), `${name} in /metrics`);
      }
      for (const line of metrics.split('\n').filter((l) => l && !l.startsWith('#'))) {
        assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|nan|[+-]inf)$/i, `Prometheus sample: ${line}`);
      }

      await server.stopPostgres();
      await waitUntil(async () => (await worker.get('/ready')).status === 503);
      const notReady = JSON.parse((await worker.get('/ready')).body);
      assert.deepEqual(notReady.reasons, ['database unreachable']);
      assert.ok(!JSON.stringify(notReady).includes('127.0.0.1'), '/ready reveals no connection details');
      assert.equal((await worker.get('/health')).status, 200);

      await server.startPostgres();
      await waitUntil(async () => (await worker.get('/ready')).status === 200, 30_000);
      await runCli(['enqueue', 'ok', '{"x":2}'], { DATABASE_URL: url });
      await waitUntil(async () => (await worker.get('/metrics')).body.includes('supajobs_jobs_completed_total{task="ok"} 2'), 30_000);
      assert.equal(await worker.stop(), 0);
    } finally {
      await server.stop();
    }
  });

  test('invalid configuration exits 1 naming every bad variable, printing no secret', async () => {
    const result = await runCli(['start'], {
      DATABASE_URL: 'postgres://app:hunter2-very-secret@db.internal:5432/app',
      SUPABASE_URL: 'not a url',
      SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-never-print-me',
      MAX_CONCURRENT_JOBS: '0',
      LOG_LEVEL: 'loud',
      HEALTH_CHECK_PORT: '99999',
    });
    assert.equal(result.code, 1);
    for (const name of ['SUPABASE_URL', 'MAX_CONCURRENT_JOBS', 'LOG_LEVEL', 'HEALTH_CHECK_PORT', 'TRANSPORT']) {
      assert.match(result.stderr, new RegExp(`${name}:`), `${name} named`);
    }
    const output = result.stdout + result.stderr;
    assert.ok(!output.includes('hunter2-very-secret'));
    assert.ok(!output.includes('service-role-key-never-print-me'));
  });

  test('no log line carries the database password', async () => {
    const db = await createTestDatabase();
    const role = `pw_${Math.random().toString(36).slice(2, 8)}`;
    const password = 'pw-Secret-4711-never-logged';
    await db.pool.query(`create role ${role} login superuser password '${password}'`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    try {
      const worker = await WorkerProcess.start({ DATABASE_URL: url.toString(), TASKS_DIR: FIXTURE_TASKS_DIR, LOG_LEVEL: 'debug', MONITOR_INTERVAL_MS: '200' });
      await db.pool.query("select enqueue_job('ok'), enqueue_job('permanent'), enqueue_job('no-such-task')");
      await worker.waitForLog((l) => l.msg === 'queue statistics' && (l.completed as number) >= 1 && (l.failed as number) >= 2);
      assert.equal(await worker.stop(), 0);
      assert.ok(!worker.output.includes(password), 'password not in the output');
      assert.ok(!worker.output.includes(encodeURIComponent(password)));
    } finally {
      await db.pool.query(`drop owned by ${role}; drop role ${role}`).catch(() => undefined);
    }
  });

  test('enqueue refuses bad input with a clear message and the line number', async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, MAX_PAYLOAD_BYTES: '100' };
    const badJson = await runCli(['enqueue', 'ok', '{not json'], env);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /payload is not valid JSON/);
    const tooBig = await runCli(['enqueue', 'ok', JSON.stringify({ text: 'x'.repeat(200) })], env);
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /over the limit of 100/);
    const typo = await tempFile('typo.ndjson', '{"task":"ok","max_attempts":1}\n');
    const badKey = await runCli(['enqueue', '--file', typo], env);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /typo\.ndjson:1: unknown key "max_attempts"/);
    const file = await tempFile('bad.ndjson', '{"task":"ok"}\n{"task":"ok"}\n{"task": oops}\n');
    const badLine = await runCli(['enqueue', '--file', file], env);
    assert.equal(badLine.code, 2);
    assert.match(badLine.stderr, /bad\.ndjson:3: invalid JSON/);
    const unknownKey = await runCli(['enqueue', 'ok', '--bogus'], env);
    assert.equal(unknownKey.code, 2);
    const { rows } = await db.pool.query('select count(*)::int as n from jobs');
    assert.equal(rows[0].n, 0, 'a refused file enqueues nothing from its chunk');
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  test('stats, retry, cancel and purge', async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url };
    const id = (await runCli(['enqueue', 'ok', '{}', '--queue', 'mail', '--priority', '3', '--max-attempts', '2', '--key', 'k1'], env)).stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const again = (await runCli(['enqueue', 'ok', '{}', '--queue', 'mail', '--key', 'k1'], env)).stdout.trim();
    assert.equal(again, id, 'same key, same job');
    const stats = await runCli(['stats'], env);
    assert.equal(stats.code, 0);
    assert.match(stats.stdout, /^mail\s+1\s+0\s+0\s+0\s+0\s+0/m);
    const json = JSON.parse((await runCli(['stats', '--json'], env)).stdout);
    assert.equal(json[0].queue, 'mail');
    assert.equal((await runCli(['cancel', id], env)).code, 0);
    assert.equal((await runCli(['cancel', id], env)).code, 1);
    assert.equal((await runCli(['retry', id], env)).code, 0);
    await db.pool.query("update jobs set status = 'failed', failed_at = now()");
    assert.match((await runCli(['retry', '--failed', '--queue', 'mail'], env)).stdout, /^1 failed jobs queued again/);
    await db.pool.query("update jobs set status = 'completed', updated_at = now() - interval '8 days'");
    assert.match((await runCli(['purge', '--older-than', '7d'], env)).stdout, /^1 jobs purged/);
    assert.equal((await runCli(['purge'], env)).code, 2);
    assert.equal((await runCli(['frobnicate'], env)).code, 2);
  });

  test('with no database configured, start runs on the embedded default and a second terminal can enqueue', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-embedded-'));
    const env = { EMBEDDED_DIR: dir, EMBEDDED_PORT: String(await freePort()), TASKS_DIR: FIXTURE_TASKS_DIR };
    try {
      const worker = await WorkerProcess.start(env);
      const line = await worker.waitForLog((l) => String(l.msg).startsWith('embedded PostgreSQL ready'));
      assert.match(String(line.database), /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const enqueued = await runCli(['enqueue', 'ok', '{"from":"terminal 2"}'], env);
      assert.equal(enqueued.code, 0, enqueued.stderr);
      await waitUntil(async () => /^default\s+0\s+0\s+0\s+0\s+1\s/m.test((await runCli(['stats'], env)).stdout));
      assert.equal(await worker.stop(), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
