import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { tracingRequested } from '../../../src/tracing/load.js';
import { createTestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';
import { OtlpReceiver, otelEnv } from '../../support/otlp-receiver.js';
import { FIXTURE_TASKS_DIR, PROJECT_DIR, WorkerProcess } from '../../support/worker-process.js';

test('which OTEL_* settings turn tracing on', () => {
  assert.equal(tracingRequested({}), false);
  assert.equal(tracingRequested({ OTEL_SERVICE_NAME: 'x' }), false);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'none' }), false);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'console,none' }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }), false);
});

test('tracing off: a worker runs jobs without loading any OpenTelemetry module; on, it loads the SDK', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-imports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const receiver = await OtlpReceiver.start();
  t.after(() => receiver.stop());
  const db = await createTestDatabase();
  const hook = path.join(PROJECT_DIR, 'tests', 'support', 'import-log.mjs');

  const runOneJob = async (name: string, extra: Record<string, string>) => {
    const log = path.join(dir, name);
    const worker = await WorkerProcess.start({
      DATABASE_URL: db.url,
      TASKS_DIR: FIXTURE_TASKS_DIR,
      POLL_INTERVAL_MS: '200',
      MONITOR_INTERVAL_MS: '0',
      NODE_OPTIONS: `--import=${hook}`,
      IMPORT_LOG: log,
      ...extra,
    });
    try {
      const { rows } = await db.pool.query<{ id: string }>("select enqueue_job('ok') as id");
      await waitForJobs(db, [rows[0]?.id as string], 15_000);
    } finally {
      await worker.stop();
    }
    return readFile(log, 'utf8').catch(() => '');
  };

  const off = await runOneJob('off.log', {});
  assert.equal(off, '', `modules loaded with tracing off:\n${off}`);
  const on = await runOneJob('on.log', otelEnv(receiver, 'imports'));
  assert.match(on, /@opentelemetry\/sdk-trace-node/, 'the positive control: with tracing on the SDK is loaded (and recorded)');
});
