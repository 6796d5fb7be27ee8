import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { EmbeddedPostgres } from '../../../src/embedded/server.js';
import { createTestDatabase, databaseUrl } from '../../support/database.js';
import { TEST_SERVER_SETTINGS, freePort } from '../../support/test-server.js';
import { waitUntil } from '../../support/worker.js';
import { FIXTURE_TASKS_DIR, runCli, spawnCli, WorkerProcess } from '../../support/worker-process.js';

/** A worker process that is not waited on: the database it is given is not there yet. */
async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return WorkerProcess.spawn({ TASKS_DIR: FIXTURE_TASKS_DIR, POLL_INTERVAL_MS: '300', MONITOR_INTERVAL_MS: '0', ...env });
}

describe('database unreachable at start', () => {
  test('the worker stays up, /ready says why (503), and it starts once PostgreSQL is there', async () => {
    const port = await freePort();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const worker = await spawnWorker({ DATABASE_URL: url });
    after(() => worker.stop('SIGKILL'));
    const warned = await worker.waitForLog((l) => l.msg === 'database unreachable at start; trying again', 30_000);
    assert.equal(warned.attempt, 1);
    // The health server comes up beside the database attempts, not before them.
    await worker.waitForLog((l) => l.msg === 'health server listening', 30_000);
    assert.equal((await worker.get('/health')).status, 200);
    const ready = await worker.get('/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.body).reasons, ['worker starting', 'database unreachable']);
    assert.ok(!ready.body.includes(String(port)) && !ready.body.includes('127.0.0.1'), '/ready reveals no connection details');

    const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-late-pg-'));
    const server = new EmbeddedPostgres({ dir, port, settings: TEST_SERVER_SETTINGS });
    after(async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await server.start();
    await worker.waitForLog((l) => l.msg === 'worker started', 60_000);
    assert.ok(worker.lines().some((l) => l.msg === 'database reachable'));
    await waitUntil(async () => (await worker.get('/ready')).status === 200, 20_000);
    const enqueued = await runCli(['enqueue', 'ok', '{"late":true}'], { DATABASE_URL: url });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    await waitUntil(async () => (await worker.get('/metrics')).body.includes('supajobs_jobs_completed_total{task="ok"} 1'));
    assert.equal(await worker.stop('SIGTERM'), 0);
    assert.ok(!worker.lines().some((l) => l.msg === 'worker failed to start'));
  });

  test('SIGTERM while waiting for the database exits 0 at once', async () => {
    const worker = await spawnWorker({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
    await worker.waitForLog((l) => l.msg === 'database unreachable at start; trying again', 30_000);
    const started = Date.now();
    assert.equal(await worker.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 5_000, 'stopped without waiting out the backoff');
    assert.ok(!worker.lines().some((l) => l.msg === 'worker failed to start'));
  });

  test('a database that answers with a permanent error (no such database) still fails the start: exit 1', async () => {
    const db = await createTestDatabase({ migrate: false });
    const missing = databaseUrl(`${db.name}_missing`);
    const child = spawnCli(['start'], { DATABASE_URL: missing, HEALTH_CHECK_PORT: '0', HEALTH_CHECK_HOST: '127.0.0.1' });
    let output = '';
    child.stdout?.on('data', (c) => (output += c));
    child.stderr?.on('data', (c) => (output += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 1);
    assert.match(output, /worker failed to start/);
    assert.doesNotMatch(output, /trying again/);
  });
});
