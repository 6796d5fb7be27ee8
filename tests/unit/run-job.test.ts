import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { JobError, PermanentJobError } from '../../src/errors.js';
import type { Job } from '../../src/job.js';
import { JobAbort } from '../../src/queue/job-abort.js';
import { runJob, type RunJobOptions } from '../../src/queue/run-job.js';
import type { TaskDefinition } from '../../src/queue/task.js';
import { captureLogs } from '../support/logs.js';

const job = (overrides: Partial<Job> = {}): Job => ({
  id: '00000000-0000-0000-0000-000000000001', task: 't', queue: 'default', payload: { n: 1 }, status: 'processing',
  priority: 0, runAt: new Date(), attempts: 1, maxAttempts: 5, lockedBy: 'w', leaseExpiresAt: new Date(), jobKey: null, groupKey: null,
  stage: null, version: 0, progress: null, result: null, errorCode: null, lastError: null, userId: null, concurrencyKey: null, createdAt: new Date(),
  startedAt: new Date(), completedAt: null, failedAt: null, updatedAt: new Date(), traceparent: null, ...overrides,
});

const run = (task: TaskDefinition | undefined, extra: Partial<RunJobOptions> = {}) =>
  runJob({
    job: job(),
    task,
    abort: new JobAbort(),
    timeoutMs: 1000,
    logger: () => captureLogs().logger,
    workerId: 'w',
    progress: async () => undefined,
    ...extra,
  });

test('a returned value completes; undefined is stored as null', async () => {
  assert.deepEqual(await run({ handler: (j) => j.payload }), { kind: 'completed', result: { n: 1 } });
  assert.deepEqual(await run({ handler: () => undefined }), { kind: 'completed', result: null });
});

test('no task: UNKNOWN_TASK, not retried', async () => {
  const outcome = await run(undefined);
  assert.equal(outcome.kind === 'failed' && outcome.code, 'UNKNOWN_TASK');
  assert.equal(outcome.kind === 'failed' && outcome.retryable, false);
});

test('schema: a function or a Standard Schema; failures are INVALID_PAYLOAD naming the issue', async () => {
  const fnSchema: TaskDefinition = { schema: () => { throw new Error('n must be even'); }, handler: () => 'x' };
  const bad = await run(fnSchema);
  assert.ok(bad.kind === 'failed' && bad.code === 'INVALID_PAYLOAD' && /n must be even/.test(bad.message));
  const standard = {
    '~standard': {
      version: 1 as const,
      validate: (value: unknown) =>
        (value as { n: number }).n > 5 ? { value: { n: 10 } } : { issues: [{ message: 'too small', path: ['n'] }] },
    },
  };
  const refused = await run({ schema: standard, handler: (j) => j.payload });
  assert.ok(refused.kind === 'failed' && refused.code === 'INVALID_PAYLOAD' && /n: too small/.test(refused.message));
  const converted = await run({ schema: standard, handler: (j) => j.payload }, { job: job({ payload: { n: 7 } }) });
  assert.deepEqual(converted, { kind: 'completed', result: { n: 10 } });
});

test('throws: HANDLER_ERROR retryable, PermanentJobError not, task maxAttempts caps retries', async () => {
  const thrown = await run({ handler: () => { throw new Error('boom'); } });
  assert.ok(thrown.kind === 'failed' && thrown.code === 'HANDLER_ERROR' && thrown.retryable && thrown.message === 'boom');
  const permanent = await run({ handler: () => { throw new PermanentJobError('no', { code: 'NOPE' }); } });
  assert.ok(permanent.kind === 'failed' && permanent.code === 'NOPE' && !permanent.retryable && permanent.publicMessage === null);
  const told = await run({ handler: () => { throw new PermanentJobError('ECONNREFUSED 10.0.3.7', { code: 'GW', publicMessage: 'Try later' }); } });
  assert.ok(told.kind === 'failed' && told.publicMessage === 'Try later' && told.message === 'ECONNREFUSED 10.0.3.7');
  const capped = await run({ maxAttempts: 2, handler: () => { throw new Error('again'); } }, { job: job({ attempts: 2 }) });
  assert.ok(capped.kind === 'failed' && !capped.retryable);
  const sync = await run({ handler: () => { throw 'a string'; } });
  assert.ok(sync.kind === 'failed' && sync.message === 'a string');
});

test('timeout aborts the signal and fails with TIMEOUT, even if the handler ignores it', async () => {
  let signal: AbortSignal | undefined;
  const outcome = await run({ timeoutMs: 20, handler: async (_j, ctx) => { signal = ctx.signal; await wait(200); return 'late'; } });
  assert.ok(outcome.kind === 'failed' && outcome.code === 'TIMEOUT' && outcome.retryable);
  assert.equal(signal?.aborted, true);
});

test('an abort from outside (shutdown, lost lease) is not a failure', async () => {
  const abort = new JobAbort();
  let signal: AbortSignal | undefined;
  const pending = run({ handler: (_j, ctx) => wait(10_000, undefined, { signal: (signal = ctx.signal) }) }, { abort });
  await wait(5);
  abort.abort('lease-lost');
  assert.deepEqual(await pending, { kind: 'aborted', cause: 'lease-lost' });
  assert.equal(signal?.aborted, true, 'the signal the handler holds is aborted too');
  assert.equal(signal?.reason, 'lease-lost');
  const other = new JobAbort();
  const stopping = run({ handler: () => new Promise(() => undefined) }, { abort: other });
  other.abort('shutdown');
  assert.deepEqual(await stopping, { kind: 'aborted', cause: 'shutdown' }, 'a handler that never settles and never looks at its signal is not waited for');
  const early = new JobAbort();
  early.abort('shutdown');
  let called = false;
  assert.deepEqual(await run({ handler: () => void (called = true) }, { abort: early }), { kind: 'aborted', cause: 'shutdown' });
  assert.equal(called, false, 'a job aborted before its handler starts does not start it');
  const late = new JobAbort();
  late.abort('lease-lost');
  assert.equal(late.signal.aborted, true, 'a signal asked for after the abort is born aborted');
});

test('a result JSON cannot hold fails with RESULT_NOT_SERIALIZABLE', async () => {
  const outcome = await run({ handler: () => ({ big: 10n }) });
  assert.ok(outcome.kind === 'failed' && outcome.code === 'RESULT_NOT_SERIALIZABLE' && !outcome.retryable);
});

test("a task's maxAttempts caps retries after a timeout and after a JobError too", async () => {
  const slow: TaskDefinition = { maxAttempts: 2, timeoutMs: 10, handler: () => wait(200) };
  const early = await run(slow, { job: job({ attempts: 1 }) });
  assert.ok(early.kind === 'failed' && early.code === 'TIMEOUT' && early.retryable, 'attempt 1 of 2 is retried');
  const last = await run(slow, { job: job({ attempts: 2 }) });
  assert.ok(last.kind === 'failed' && last.code === 'TIMEOUT' && !last.retryable, 'attempt 2 of 2 is not');
  const coded = await run({ maxAttempts: 3, handler: () => { throw new JobError('GW_5XX', 'bad gateway'); } }, { job: job({ attempts: 3 }) });
  assert.ok(coded.kind === 'failed' && coded.code === 'GW_5XX' && !coded.retryable);
});

test("JobError: an app's own code fails retryably (or not, when told); a timeout's code can be named", async () => {
  const gateway = await run({ handler: () => { throw new JobError('GW_5XX', 'upstream answered 502'); } });
  assert.deepEqual(gateway.kind === 'failed' && [gateway.code, gateway.retryable, gateway.message], ['GW_5XX', true, 'upstream answered 502']);
  const final = await run({ handler: () => { throw new JobError('QUOTA_GONE', 'no quota', { retryable: false }); } });
  assert.deepEqual(final.kind === 'failed' && [final.code, final.retryable], ['QUOTA_GONE', false]);
  const registered = await run({ handler: () => { throw new JobError('INVALID_PAYLOAD', 'late check'); } });
  assert.deepEqual(registered.kind === 'failed' && [registered.code, registered.retryable], ['INVALID_PAYLOAD', false], 'a registered code keeps its registry entry');
  const named = await run({ timeoutMs: 10, timeoutCode: 'GW_TIMEOUT', handler: () => wait(200) });
  assert.deepEqual(named.kind === 'failed' && [named.code, named.retryable], ['GW_TIMEOUT', true]);
  assert.throws(() => new JobError('', 'x'), /code must be a string of 1 to 200 characters/);
});

test('progress after the attempt timed out is refused: it never reaches the database', async () => {
  const written: (string | null)[] = [];
  let lateCall: Promise<void> | undefined;
  const outcome = await run(
    {
      timeoutMs: 10,
      handler: async (_j, ctx) => {
        await ctx.progress('first');
        await wait(50); // ignores its signal
        lateCall = ctx.progress('late');
      },
    },
    { progress: async (stage) => void written.push(stage) },
  );
  assert.ok(outcome.kind === 'failed' && outcome.code === 'TIMEOUT');
  await wait(80);
  await lateCall;
  assert.deepEqual(written, ['first']);
});
