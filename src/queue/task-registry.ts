import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkRetryPolicy } from '../workflow/retry-policy.js';
import { checkStages } from '../workflow/stages.js';
import type { AnyTask, TaskDefinition, TaskHandler } from './task.js';

/** Task names as files may carry them: letters, digits, _ . : - */
const TASK_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
const MODULE_FILE = /\.(js|mjs|cjs|ts|mts)$/;

/** The tasks a worker can run, by name. */
export class TaskRegistry {
  readonly #tasks = new Map<string, TaskDefinition>();

  constructor(tasks: Record<string, AnyTask> = {}) {
    for (const [name, task] of Object.entries(tasks)) this.add(name, task);
  }

  add(name: string, task: AnyTask): void {
    if (!TASK_NAME.test(name)) throw new TypeError(`invalid task name "${name}": use 1 to 200 of A-Z a-z 0-9 _ . : -`);
    const definition = typeof task === 'function' ? { handler: task } : task;
    if (typeof definition?.handler !== 'function') throw new TypeError(`task "${name}" has no handler function`);
    checkRetryPolicy(name, definition.retry);
    checkStages(name, definition.stages);
    this.#tasks.set(name, definition as TaskDefinition);
  }

  get(name: string): TaskDefinition | undefined {
    return this.#tasks.get(name);
  }

  entries(): IterableIterator<[string, TaskDefinition]> {
    return this.#tasks.entries();
  }

  get names(): string[] {
    return [...this.#tasks.keys()].sort();
  }
}

/**
 * Loads every module of a folder as a task named after its file (`convert-pdf.ts` → convert-pdf).
 * A module exports its definition (or just a handler) as default, or a named `handler` with
 * optional `schema`, `timeoutMs` and `maxAttempts`. TypeScript files load when the process runs
 * with a TypeScript loader (tsx); otherwise only JavaScript files are read. Modules shared by tasks live
 * beside tasks under a name starting with `_` (`_http.js`) or in a subfolder: neither is loaded.
 */
export async function loadTasksFromDir(dir: string, registry = new TaskRegistry()): Promise<TaskRegistry> {
  const canLoadTs = process.execArgv.some((arg) => arg.includes('tsx')) || process.argv.some((arg) => /\.m?ts$/.test(arg));
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('_') && MODULE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts') && !entry.name.includes('.test.'))
    .map((entry) => entry.name)
    .filter((name) => canLoadTs || !/\.m?ts$/.test(name))
    .sort();
  for (const file of files) {
    const name = file.replace(MODULE_FILE, '');
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
    const exported = (mod.default ?? mod) as Record<string, unknown> | TaskHandler;
    const task = typeof exported === 'function' ? exported : (exported as unknown as TaskDefinition);
    if (typeof (typeof task === 'function' ? task : task?.handler) !== 'function') {
      throw new TypeError(
        `${path.join(dir, file)} is not a task: it exports no handler (a default function or definition, or a named \`handler\`); a module shared by tasks is named with a leading _ (_${file}) or kept in a subfolder, and is not loaded as a task`,
      );
    }
    registry.add(name, task);
  }
  return registry;
}
