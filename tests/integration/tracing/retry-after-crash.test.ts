import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/index.js';
import { createTestDatabase } from '../../support/database.js';
import { OtlpReceiver, TRACED_TASKS_DIR, otelEnv, spanTree } from '../../support/otlp-receiver.js';
import { WorkerProcess } from '../../support/worker-process.js';

test('a job retried after its worker crashed: both attempts join the enqueuing trace, each claim a child of the producer span', async (t) => {
  const receiver = await OtlpReceiver.start();
  t.after(() => receiver.stop());
  const db = await createTestDatabase();
  const workerEnv = { DATABASE_URL: db.url, TASKS_DIR: TRACED_TASKS_DIR, POLL_INTERVAL_MS: '200', MONITOR_INTERVAL_MS: '0', LEASE_SECONDS: '5', RECLAIM_INTERVAL_MS: '200' };

  // The producer is this process, through the library.
  const queue = await connect({ env: { DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...otelEnv(receiver, 'test-library') } });
  const id = await queue.enqueue({ task: 'crash-once' });
  await queue.close();

  // spawn, not start: its handler may kill it before it logs 'worker started'.
  const first = await WorkerProcess.spawn({ ...workerEnv, WORKER_ID: 'first', ...otelEnv(receiver, 'worker-first') });
  assert.equal(await first.exited, 128, 'the first worker was killed by its handler');
  const second = await WorkerProcess.start({ ...workerEnv, WORKER_ID: 'second', ...otelEnv(receiver, 'worker-second') });
  try {
    await receiver.waitFor((spans) => spans.find((s) => s.attributes['messaging.message.id'] === id && s.attributes['messaging.operation.name'] === 'complete'));
  } finally {
    await second.stop();
  }
  const spans = receiver.spans.filter((s) => s.attributes['messaging.message.id'] === id);
  const producer = spans.find((s) => s.service === 'test-library' && s.name === 'enqueue crash-once');
  assert.ok(producer, 'the library producer span arrived');
  const claims = spans.filter((s) => s.attributes['messaging.operation.name'] === 'claim');
  assert.deepEqual(claims.map((c) => [c.service, c.attributes['supajobs.job.attempt'], c.traceId, c.parentSpanId]), [
    ['worker-first', 1, producer.traceId, producer.spanId],
    ['worker-second', 2, producer.traceId, producer.spanId],
  ]);
  const runs = spans.filter((s) => s.attributes['messaging.operation.name'] === 'run');
  // The first run span died with its process; the second is a child of the second claim.
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.parentSpanId, claims[1]?.spanId);
  assert.equal(runs[0]?.attributes['supajobs.job.outcome'], 'completed');
  assert.deepEqual(runs[0]?.links, [{ traceId: producer.traceId, spanId: producer.spanId }]);
  const complete = spans.find((s) => s.attributes['messaging.operation.name'] === 'complete');
  assert.equal(complete?.parentSpanId, runs[0]?.spanId);
  t.diagnostic(spanTree(receiver.spans, producer.traceId));
});
