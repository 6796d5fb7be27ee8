/**
 * The workflow scenario's jobs: one task (chaos/tasks/workflow.ts) whose jobs run three
 * checkpointed steps, enqueued as flows: a root, its children (fan-out),
 * a join that waits for all of them (fan-in) and a tail after the join (a chain). A small share is
 * planned to be dead-lettered, which fails their dependents in turn.
 */
import type { LedgerPayload } from './ledger.js';

export const WORKFLOW_TASK = 'workflow';
export const WORKFLOW_STEPS = ['fetch', 'transform', 'store'] as const;
/** The error code of a planned dead letter (thrown in the transform step). */
export const PLANNED_DEAD_LETTER = 'CHAOS_PLANNED_DEAD_LETTER';
/** A dependent found a dependency not completed when it started (never expected). */
export const DEPENDENCY_OPEN = 'CHAOS_DEPENDENCY_OPEN';

export type FlowRole = 'root' | 'child' | 'join' | 'tail';

export interface WorkflowPayload extends LedgerPayload {
  role: FlowRole;
  /** Dead-lettered on purpose in its transform step. */
  doomed: boolean;
}

/** Jobs per flow: a root, three children, their join, a tail. */
export const FLOW_SIZE = 6;

/**
 * enqueue_flow elements for a batch of seqs, one job per seq, in flows of FLOW_SIZE (the last
 * flow of a batch may be smaller: a root alone, a chain of two or three, or fewer children).
 */
export function workflowFlows(seqs: number[], deadLetterRate: number): Record<string, unknown>[] {
  const elements: Record<string, unknown>[] = [];
  for (let start = 0; start < seqs.length; start += FLOW_SIZE) {
    const flow = seqs.slice(start, start + FLOW_SIZE);
    const ref = (i: number) => `s${flow[i]}`;
    const roles: FlowRole[] =
      flow.length === 1 ? ['root'] : flow.length <= 3 ? ['root', ...Array<FlowRole>(flow.length - 2).fill('join'), 'tail'] : ['root', ...Array<FlowRole>(flow.length - 3).fill('child'), 'join', 'tail'];
    const children = roles.flatMap((role, i) => (role === 'child' ? [ref(i)] : []));
    flow.forEach((seq, i) => {
      const role = roles[i] as FlowRole;
      const dependsOn = role === 'root' ? [] : role === 'child' ? [ref(0)] : role === 'join' ? (children.length > 0 ? children : [ref(i - 1)]) : [ref(i - 1)];
      elements.push({
        task: WORKFLOW_TASK,
        ref: ref(i),
        ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
        payload: { seq, role, doomed: Math.random() < deadLetterRate },
      });
    });
  }
  return elements;
}
