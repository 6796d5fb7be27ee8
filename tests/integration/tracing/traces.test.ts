import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { OtlpReceiver, TRACED_TASKS_DIR, otelEnv, spanTree, type ReceivedSpan } from '../../support/otlp-receiver.js';
import { WorkerProcess, runCli } from '../../support/worker-process.js';

const ADMIN_TOKEN = 'tracing-test-admin-token';

/** OTLP span kinds. */
const KIND = { CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };

const byJob = (spans: ReceivedSpan[], id: string, operation: string) =>
  spans.filter((s) => s.attributes['messaging.message.id'] === id && s.attributes['messaging.operation.name'] === operation);

describe('tracing: spans from producer to handler, through an OTLP/HTTP receiver', () => {
  let receiver: OtlpReceiver;
  let db: TestDatabase;
  let worker: WorkerProcess;

  before(async () => {
    receiver = await OtlpReceiver.start();
    db = await createTestDatabase({ autoDrop: false });
    worker = await WorkerProcess.start({
      DATABASE_URL: db.url,
      TASKS_DIR: TRACED_TASKS_DIR,
      POLL_INTERVAL_MS: '200',
      MONITOR_INTERVAL_MS: '0',
      ADMIN_TOKEN: ADMIN_TOKEN,
      ...otelEnv(receiver, 'test-worker'),
    });
  });

  after(async () => {
    await worker?.stop();
    await db?.drop();
    await receiver?.stop();
  });

  test('CLI enqueue → claim → run → complete in one trace, each span the parent of the next; log lines carry the trace id', async (t) => {
    const enqueued = await runCli(['enqueue', 'traced', '{"n":1}', '--queue', 'mail'], { DATABASE_URL: db.url, ...otelEnv(receiver, 'test-producer') });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const id = enqueued.stdout.trim();

    const [complete] = await receiver.waitFor((spans) => (byJob(spans, id, 'complete').length ? byJob(spans, id, 'complete') : undefined));
    const spans = receiver.spans;
    const producer = spans.find((s) => s.service === 'test-producer' && s.name === 'enqueue traced');
    assert.ok(producer, 'the producer span arrived');
    const [claim] = byJob(spans, id, 'claim');
    const [run] = byJob(spans, id, 'run');
    assert.ok(claim && run && complete);

    assert.equal(producer.kind, KIND.PRODUCER);
    assert.equal(producer.attributes['messaging.destination.name'], 'mail');
    assert.equal(producer.attributes['messaging.message.id'], id);
    assert.equal(claim.traceId, producer.traceId);
    assert.equal(claim.parentSpanId, producer.spanId);
    assert.equal(claim.kind, KIND.CONSUMER);
    assert.equal(run.parentSpanId, claim.spanId);
    assert.deepEqual(run.links, [{ traceId: producer.traceId, spanId: producer.spanId }]);
    assert.equal(complete.parentSpanId, run.spanId);
    assert.equal(complete.kind, KIND.CLIENT);
    assert.equal(complete.attributes['supajobs.job.recorded'], 'completed');
    for (const span of [claim, run, complete]) {
      assert.equal(span.service, 'test-worker');
      assert.equal(span.attributes['messaging.system'], 'supajobs');
      assert.equal(span.attributes['messaging.destination.name'], 'mail');
      assert.equal(span.attributes['supajobs.job.task'], 'traced');
      assert.equal(span.attributes['supajobs.job.attempt'], 1);
    }
    assert.equal(run.attributes['messaging.operation.type'], 'process');
    assert.equal(run.attributes['supajobs.job.outcome'], 'completed');

    const line = await worker.waitForLog((l) => l.msg === 'traced task running' && l.jobId === id);
    assert.equal(line.traceId, producer.traceId);
    assert.equal(line.spanId, run.spanId);
    t.diagnostic(spanTree(spans, producer.traceId));
  });

  test('a SQL producer passes its traceparent to enqueue_job, and the worker joins that trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const { rows } = await db.pool.query<{ id: string }>("select enqueue_job('traced', traceparent => $1) as id", [`00-${traceId}-${parent}-01`]);
    const id = rows[0]?.id as string;
    const [run] = await receiver.waitFor((spans) => (byJob(spans, id, 'run').length ? byJob(spans, id, 'run') : undefined));
    const [claim] = byJob(receiver.spans, id, 'claim');
    assert.equal(claim?.traceId, traceId);
    assert.equal(claim?.parentSpanId, parent);
    assert.equal(run?.parentSpanId, claim?.spanId);
    assert.deepEqual(run?.links, [{ traceId, spanId: parent }]);
  });

  test('the admin API: POST /api/v1/jobs makes an enqueue span under the caller\'s traceparent header, and the worker joins that trace', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parent = 'b7ad6b7169203331';
    const response = await fetch(`http://127.0.0.1:${worker.port}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${parent}-01` },
      body: JSON.stringify({ task: 'traced', payload: { n: 3 } }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    const [run] = await receiver.waitFor((spans) => (byJob(spans, id, 'run').length ? byJob(spans, id, 'run') : undefined));
    const producer = receiver.spans.find((s) => s.name === 'enqueue traced' && s.attributes['messaging.message.id'] === id);
    assert.ok(producer, 'the admin API made an enqueue span');
    assert.equal(producer.service, 'test-worker');
    assert.equal(producer.kind, KIND.PRODUCER);
    assert.equal(producer.traceId, traceId);
    assert.equal(producer.parentSpanId, parent);
    const [claim] = byJob(receiver.spans, id, 'claim');
    assert.equal(claim?.parentSpanId, producer.spanId);
    assert.equal(run?.parentSpanId, claim?.spanId);
  });

  test('a failed attempt: the run span has error.type = the job error code, the fail span is its child', async () => {
    const { rows } = await db.pool.query<{ id: string }>("select enqueue_job('no-such-task', max_attempts => 1) as id");
    const id = rows[0]?.id as string;
    const [fail] = await receiver.waitFor((spans) => (byJob(spans, id, 'fail').length ? byJob(spans, id, 'fail') : undefined));
    const [run] = byJob(receiver.spans, id, 'run');
    assert.equal(run?.attributes['supajobs.job.outcome'], 'failed');
    assert.equal(run?.attributes['error.type'], 'UNKNOWN_TASK');
    assert.equal(run?.status.code, 2);
    assert.equal(fail?.parentSpanId, run?.spanId);
    assert.equal(fail?.attributes['supajobs.job.recorded'], 'dead-lettered');
  });

  test('a malformed traceparent is refused with 22023 and nothing is enqueued', async () => {
    await assert.rejects(db.pool.query("select enqueue_job('traced', traceparent => 'not-a-traceparent')"), (error: { code?: string; message: string }) => {
      assert.equal(error.code, '22023');
      assert.match(error.message, /traceparent/);
      return true;
    });
    await assert.rejects(db.pool.query("insert into jobs (task, traceparent) values ('traced', 'x')"), /jobs_traceparent_format/);
    const { rows } = await db.pool.query("select count(*)::int as n from jobs where task = 'traced' and traceparent is not null and traceparent !~ '^00-'");
    assert.equal(rows[0].n, 0);
  });
});
