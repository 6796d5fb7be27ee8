/**
 * The workflow scenario's task (chaos/workflow-plan.ts): each execution records its start (a join
 * also checks that every job it depends on completed, reading their results as a parent does),
 * then runs three checkpointed steps, each recording its work in the ledger (step name, attempt)
 * before its result is stored. A step fails transiently for payload.failRate of its runs; a
 * doomed job is dead-lettered in its transform step. Every lifecycle hook records its run. The
 * ledger rows are what chaos/scenarios/workflow-checks.ts compares with job_steps,
 * job_dependencies and job_events.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentJobError } from '../../src/errors.js';
import { defineTask, type JobContext } from '../../src/queue/task.js';
import type { HookEvent } from '../../src/workflow/hooks.js';
import { DEPENDENCY_OPEN, PLANNED_DEAD_LETTER, WORKFLOW_STEPS, type WorkflowPayload } from '../workflow-plan.js';
import { recordInLedger } from './_ledger-pool.js';

const recordHook = (event: HookEvent, ctx: JobContext) =>
  recordInLedger({ jobId: event.jobId, attempt: event.attempt, workerId: ctx.workerId, outcome: 'hook', step: event.event });

export default defineTask<WorkflowPayload>({
  handler: async (job, ctx) => {
    const { seq, role, minMs = 1, maxMs = 5, failRate = 0, doomed } = job.payload;
    const record = (outcome: 'start' | 'step' | 'fail' | 'ok', step?: string) =>
      recordInLedger({ jobId: job.id, attempt: ctx.attempt, workerId: ctx.workerId, outcome, step });
    await record('start');
    const open = role === 'join' ? (await ctx.dependencyResults()).filter((d) => d.status !== 'completed') : [];
    if (open.length > 0) {
      await record('fail');
      throw new PermanentJobError(`started with ${open.length} dependencies not completed`, { code: DEPENDENCY_OPEN });
    }
    for (const step of WORKFLOW_STEPS) {
      await ctx.step(step, async (signal) => {
        await sleep(minMs + Math.random() * (maxMs - minMs), undefined, { signal });
        if (doomed && step === 'transform') {
          await record('fail', step);
          throw new PermanentJobError('planned dead letter', { code: PLANNED_DEAD_LETTER });
        }
        if (Math.random() < failRate) {
          await record('fail', step);
          throw new Error(`planned transient failure in step ${step}`);
        }
        await record('step', step);
        return { seq, step };
      });
    }
    await record('ok');
    return { seq };
  },
  hooks: { onRetryScheduled: recordHook, onDeadLettered: recordHook, onLeaseExpired: recordHook, onCancelled: recordHook },
});
