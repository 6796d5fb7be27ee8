import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskRegistry, loadTasksFromDir } from '../../src/queue/task-registry.js';
import { BUILTIN_TASKS_DIR } from '../../src/worker.js';
import { checkEnqueueInput } from '../../src/queue/enqueue-input.js';
import { DatabaseError } from '../../src/errors.js';
import { FIXTURE_TASKS_DIR } from '../support/worker-process.js';

test('tasks load from a folder, named after their files', async () => {
  const registry = await loadTasksFromDir(FIXTURE_TASKS_DIR);
  assert.deepEqual(registry.names, ['flaky', 'ok', 'permanent', 'slow', 'staged', 'typed']);
  assert.equal(registry.get('slow')?.timeoutMs, 300);
  const builtins = await loadTasksFromDir(BUILTIN_TASKS_DIR);
  assert.deepEqual(builtins.names, ['echo', 'noop', 'sleep']);
});

test('the registry refuses bad names and definitions without a handler', () => {
  const registry = new TaskRegistry({ plain: () => 'ok' });
  assert.equal(typeof registry.get('plain')?.handler, 'function');
  assert.throws(() => registry.add('has space', () => 1), /invalid task name/);
  assert.throws(() => registry.add('x', {} as never), /no handler/);
});

test('enqueue input: task required, keys checked, payload size limited', () => {
  const refuses = (input: unknown, pattern: RegExp) =>
    assert.throws(() => checkEnqueueInput(input as never, 100), (e: unknown) => e instanceof DatabaseError && e.sqlState === '22023' && pattern.test(e.message));
  refuses({}, /"task" must be a non-empty string/);
  refuses({ task: 'a', max_attempts: 3 }, /unknown key "max_attempts"/);
  refuses({ task: 'a', payload: { text: 'x'.repeat(200) } }, /over the limit of 100/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  refuses({ task: 'a', payload: cyclic }, /not JSON-serializable/);
  checkEnqueueInput({ task: 'a', payload: { ok: true }, maxAttempts: 2 }, 100);
});
