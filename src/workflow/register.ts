import type { Driver } from '../drivers/driver.js';
import type { TaskRegistry } from '../queue/task-registry.js';
import { HOOK_TASK, hookHandler, registerHooks } from './hooks.js';
import { registerStages } from './stages.js';

/**
 * At worker start, before any claim: the tasks' declared stages and hooked lifecycle events go to
 * the database (SQL checks and triggers act on them), and the worker learns to run hook jobs.
 */
export async function registerWorkflows(driver: Driver, tasks: TaskRegistry): Promise<void> {
  const own = [...tasks.entries()];
  await registerStages(driver, own);
  await registerHooks(driver, own);
  if (!tasks.get(HOOK_TASK)) tasks.add(HOOK_TASK, hookHandler((task) => tasks.get(task)));
}
