import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

test('modules shared by tasks (a leading _, or a subfolder) are not loaded as tasks; a module without a handler says so', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-tasks-'));
  try {
    await writeFile(path.join(dir, '_format.js'), 'export const shout = (text) => `${text}!`;\n');
    await mkdir(path.join(dir, 'lib'));
    await writeFile(path.join(dir, 'lib', 'quote.js'), 'export const quote = (text) => `"${text}"`;\n');
    await writeFile(
      path.join(dir, 'greet.js'),
      "import { shout } from './_format.js';\nimport { quote } from './lib/quote.js';\nexport default async (job) => quote(shout(job.payload.name));\n",
    );
    const registry = await loadTasksFromDir(dir);
    assert.deepEqual(registry.names, ['greet']);
    assert.equal(await registry.get('greet')?.handler({ payload: { name: 'Ada' } } as never, {} as never), '"Ada!"');

    await writeFile(path.join(dir, 'util.js'), 'export const twice = (n) => n * 2;\n');
    await assert.rejects(loadTasksFromDir(dir), (error: Error) => {
      assert.match(error.message, /util\.js is not a task: it exports no handler/);
      assert.match(error.message, /leading _ \(_util\.js\) or kept in a subfolder/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
