import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskRegistry } from '../../src/queue/task-registry.js';
import { retryDelayMs } from '../../src/workflow/retry-policy.js';

test('a backoff policy doubles from baseMs, caps at maxMs, and jitters as asked', () => {
  const none = { baseMs: 1000, maxMs: 5000, jitter: 'none' } as const;
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => retryDelayMs(none, a, new Error('x'))), [1000, 2000, 4000, 5000, 5000]);
  assert.equal(retryDelayMs({ baseMs: 1000, jitter: 'full' }, 2, null, () => 0.25), 500);
  assert.equal(retryDelayMs({ baseMs: 1000, jitter: 'equal' }, 2, null, () => 0.5), 1500);
  assert.equal(retryDelayMs({ baseMs: 1000 }, 1, null, () => 0), 500, 'equal jitter is the default');
});

test('a function policy gets the attempt and the error; a bad return is refused', () => {
  const seen: unknown[] = [];
  const policy = (attempt: number, error: unknown) => (seen.push(error), attempt * 250);
  const error = new Error('boom');
  assert.equal(retryDelayMs(policy, 3, error), 750);
  assert.deepEqual(seen, [error]);
  assert.throws(() => retryDelayMs(() => -1, 1, null), /expected a number of milliseconds/);
  assert.throws(() => retryDelayMs(() => Number.NaN, 1, null), /expected a number of milliseconds/);
});

test("an error's retryAfterMs wins over the policy; no policy means the job's own backoff", () => {
  const error = Object.assign(new Error('slow down'), { retryAfterMs: 7000 });
  assert.equal(retryDelayMs({ baseMs: 1, jitter: 'none' }, 1, error), 7000);
  assert.equal(retryDelayMs(undefined, 1, error), 7000);
  assert.equal(retryDelayMs(undefined, 1, new Error('x')), undefined);
});

test('a task with an invalid retry policy is refused at registration', () => {
  const registry = new TaskRegistry();
  assert.throws(() => registry.add('t', { handler: () => 1, retry: { baseMs: -5 } }), /retry\.baseMs must be a number >= 0/);
  assert.throws(() => registry.add('t', { handler: () => 1, retry: { jitter: 'some' as 'full' } }), /retry\.jitter/);
});
