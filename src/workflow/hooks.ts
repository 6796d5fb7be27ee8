import type { Driver } from '../drivers/driver.js';
import { JobError } from '../errors.js';
import type { JobContext, TaskDefinition, TaskHandler } from '../queue/task.js';

/** The internal task of hook jobs (enqueued by a trigger, see the workflow_hooks migration). */
export const HOOK_TASK = 'supajobs.hook';

export type LifecycleEvent = 'retry_scheduled' | 'dead_lettered' | 'lease_expired' | 'cancelled';

/** What a hook is told: the job it is about, and what happened to it. */
export interface HookEvent<Payload = unknown> {
  jobId: string;
  task: string;
  event: LifecycleEvent;
  /** The job's attempt count at the change. */
  attempt: number;
  status: 'pending' | 'failed' | 'cancelled';
  errorCode: string | null;
  lastError: string | null;
  stage: string | null;
  payload: Payload;
}

export type Hook<Payload = unknown> = (event: HookEvent<Payload>, ctx: JobContext) => Promise<void> | void;

/**
 * A task's lifecycle hooks. Each runs as a job of its own, enqueued in the transaction of the
 * change, so it runs at least once even when the worker that held the job died.
 */
export interface TaskHooks<Payload = unknown> {
  onRetryScheduled?: Hook<Payload>;
  onDeadLettered?: Hook<Payload>;
  /** The job's lease expired (its worker died or stalled) and it was reclaimed. */
  onLeaseExpired?: Hook<Payload>;
  onCancelled?: Hook<Payload>;
}

const HOOK_OF: Record<LifecycleEvent, keyof TaskHooks> = {
  retry_scheduled: 'onRetryScheduled',
  dead_lettered: 'onDeadLettered',
  lease_expired: 'onLeaseExpired',
  cancelled: 'onCancelled',
};

/** The lifecycle events a task has hooks for. */
export function hookedEvents(hooks: TaskHooks | undefined): LifecycleEvent[] {
  if (!hooks) return [];
  return (Object.keys(HOOK_OF) as LifecycleEvent[]).filter((event) => typeof hooks[HOOK_OF[event]] === 'function');
}

/** Registers every task's hooked events (none: its registration is removed). */
export async function registerHooks(driver: Driver, tasks: Iterable<[string, TaskDefinition]>): Promise<number> {
  let hooked = 0;
  for (const [task, definition] of tasks) {
    if (task === HOOK_TASK) continue;
    const events = hookedEvents(definition.hooks);
    await driver.call('register_job_hooks', { task, events });
    if (events.length > 0) hooked++;
  }
  return hooked;
}

/** The handler of hook jobs: finds the task's hook and runs it. */
export function hookHandler(lookup: (task: string) => TaskDefinition | undefined): TaskHandler {
  return async (job, ctx) => {
    const p = job.payload as Record<string, unknown>;
    const event = p.event as LifecycleEvent;
    const hook = lookup(p.task as string)?.hooks?.[HOOK_OF[event]];
    if (!hook) throw new JobError('HOOK_NOT_FOUND', `no ${HOOK_OF[event]} hook for task "${String(p.task)}" on this worker`);
    await hook(
      {
        jobId: p.job_id as string,
        task: p.task as string,
        event,
        attempt: p.attempt as number,
        status: p.status as HookEvent['status'],
        errorCode: (p.error_code as string | null) ?? null,
        lastError: (p.last_error as string | null) ?? null,
        stage: (p.stage as string | null) ?? null,
        payload: p.payload,
      },
      ctx,
    );
  };
}
