import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from '../../src/job.js';
import { LeaseKeeper } from '../../src/queue/lease-keeper.js';
import { OutcomeRecorder, type RecordOutcome } from '../../src/queue/outcome-recorder.js';
import { FakeDriver } from '../support/fake-driver.js';
import { captureLogs } from '../support/logs.js';

const job = (id: string): Job => ({ id, task: 't', attempts: 1 }) as Job;

function recorderOn(driver: FakeDriver) {
  const logs = captureLogs();
  const leases = new LeaseKeeper({ driver: driver.asDriver(), workerId: 'w', leaseSeconds: 30, logger: logs.logger, onLost: () => undefined });
  const outcomes: [string, RecordOutcome['kind']][] = [];
  const recorder = new OutcomeRecorder({
    driver: driver.asDriver(),
    workerId: 'w',
    logger: logs.logger,
    leases,
    onRecorded: (j, outcome) => outcomes.push([j.id, outcome.kind]),
  });
  return { recorder, leases, outcomes, logs };
}

test('completions of one tick share one call; a fenced-out one is reported as such', async () => {
  const driver = new FakeDriver();
  driver.held.add('a').add('b');
  const { recorder, outcomes } = recorderOn(driver);
  await Promise.all([recorder.complete(job('a'), 1), recorder.complete(job('b'), 2), recorder.complete(job('c'), 3)]);
  assert.deepEqual(driver.calls.map((c) => [c.method, c.ids]), [['complete', ['a', 'b', 'c']]]);
  assert.deepEqual(outcomes, [['a', 'completed'], ['b', 'completed'], ['c', 'fenced-out']]);
});

test('a failure is stored as a retry or a dead letter', async () => {
  const driver = new FakeDriver();
  driver.held.add('a').add('b');
  const { recorder, outcomes } = recorderOn(driver);
  await recorder.fail(job('a'), { code: 'HANDLER_ERROR', message: 'x', retryable: true });
  await recorder.fail(job('b'), { code: 'INVALID_PAYLOAD', message: 'x', retryable: false });
  await recorder.fail(job('c'), { code: 'HANDLER_ERROR', message: 'x', retryable: true });
  assert.deepEqual(outcomes, [['a', 'retry-scheduled'], ['b', 'dead-lettered'], ['c', 'fenced-out']]);
});

test('a transient error is retried, and the lease is renewed until the outcome is stored', async () => {
  const driver = new FakeDriver();
  driver.held.add('a');
  const { recorder, leases, outcomes } = recorderOn(driver);
  driver.failNext.set('complete', 2);
  const stored = recorder.complete(job('a'), null);
  await new Promise((resolve) => setImmediate(resolve));
  await leases.renew();
  assert.ok(driver.calls.some((c) => c.method === 'heartbeat' && c.ids.includes('a')), 'renewed while unrecorded');
  await stored;
  assert.deepEqual(outcomes, [['a', 'completed']]);
  assert.equal(driver.calls.filter((c) => c.method === 'complete').length, 3);
  const before = driver.calls.length;
  await leases.renew();
  assert.equal(driver.calls.length, before, 'stored: no longer renewed');
});

test('at stop, a call that still fails is given up on (the lease expires) and stop() returns', async () => {
  const driver = new FakeDriver();
  driver.held.add('a');
  const { recorder, outcomes, logs } = recorderOn(driver);
  driver.failNext.set('complete', 1_000);
  const stored = recorder.complete(job('a'), null);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await recorder.stop();
  await stored;
  assert.deepEqual(outcomes, []);
  assert.ok(logs.lines().some((l) => l.msg === 'complete_jobs failed; the job will be reclaimed when its lease expires'));
});
