import type { Driver } from '../drivers/driver.js';
import type { TaskDefinition } from '../queue/task.js';

/**
 * A task's declared stages: where a job starts, the moves allowed, and its terminal stages.
 * Registered in the database (job_stage_graphs) when a worker starts, so transition_job checks
 * every writer's moves, not only the worker's.
 */
export interface StageDeclaration {
  initial: string;
  /** From each stage, the stages it may move to. */
  transitions: Record<string, readonly string[]>;
  /** The worker moves a job that completed here (a declared move from the stage it is in). */
  success?: string;
  /** A dead letter moves the job here by itself (in SQL), from any stage. */
  failure?: string;
  /** As failure, when the last error was a timeout (TIMEOUT, LEASE_EXPIRED). */
  timeout?: string;
}

/** Registers the stages of every task that declares some (register_job_stages). */
export async function registerStages(driver: Driver, tasks: Iterable<[string, TaskDefinition]>): Promise<number> {
  let count = 0;
  for (const [task, definition] of tasks) {
    const stages = definition.stages;
    if (!stages) continue;
    await driver.call('register_job_stages', {
      task,
      initial_stage: stages.initial,
      transitions: stages.transitions,
      success_stage: stages.success ?? null,
      failure_stage: stages.failure ?? null,
      timeout_stage: stages.timeout ?? null,
    });
    count++;
  }
  return count;
}

/** Checks a declaration once, when its task is registered in a TaskRegistry. */
export function checkStages(name: string, stages: StageDeclaration | undefined): void {
  if (stages === undefined) return;
  const fail = (what: string) => {
    throw new TypeError(`task "${name}": stages.${what}`);
  };
  if (typeof stages.initial !== 'string' || stages.initial.length === 0) fail('initial must be a stage name');
  if (typeof stages.transitions !== 'object' || stages.transitions === null) fail('transitions must map stages to arrays of stages');
  for (const [from, to] of Object.entries(stages.transitions)) {
    if (!Array.isArray(to) || to.some((s) => typeof s !== 'string' || s.length === 0)) fail(`transitions.${from} must be an array of stage names`);
  }
  if (stages.success !== undefined && !Object.values(stages.transitions).some((to) => to.includes(stages.success as string))) {
    fail(`success "${stages.success}" must be the target of a transition`);
  }
}
