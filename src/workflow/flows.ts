import type { Driver } from '../drivers/driver.js';
import { enqueueElement } from '../drivers/rows.js';
import type { EnqueueInput } from '../job.js';

/** A job of a flow: enqueue's input, a name later jobs of the same call refer to, and its dependencies. */
export interface FlowJobInput extends EnqueueInput {
  /** The name later jobs of the same enqueueFlow call use in their dependsOn. */
  ref?: string;
  /** Earlier refs of the same call, or ids of existing jobs: this job runs only after all completed. */
  dependsOn?: string[];
}

/** What a parent reads of the jobs it depends on (get_dependency_results). */
export interface DependencyResult<Result = unknown> {
  id: string;
  task: string;
  status: string;
  result: Result;
}

/**
 * Enqueues jobs that may depend on each other (and on existing jobs) in one transaction
 * (enqueue_flow); returns their ids in order. A job with dependencies waits (status 'waiting')
 * until the last completes; a failed or cancelled dependency fails it (DEPENDENCY_FAILED,
 * DEPENDENCY_CANCELLED).
 */
export function enqueueFlow(driver: Driver, jobs: FlowJobInput[]): Promise<string[]> {
  return driver.call<string[]>('enqueue_flow', {
    jobs: jobs.map((job) => ({ ...enqueueElement(job), ref: job.ref, depends_on: job.dependsOn })),
  });
}

/** A parent and its children in one call: the parent runs after every child completed. Ids: [parent, ...children]. */
export async function enqueueParent(driver: Driver, parent: EnqueueInput, children: EnqueueInput[]): Promise<{ parent: string; children: string[] }> {
  const refs = children.map((_, i) => `child-${i}`);
  const ids = await enqueueFlow(driver, [...children.map((child, i) => ({ ...child, ref: refs[i] })), { ...parent, dependsOn: refs }]);
  return { parent: ids[ids.length - 1] as string, children: ids.slice(0, -1) };
}
