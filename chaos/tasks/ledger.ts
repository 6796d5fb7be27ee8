/**
 * The chaos task: works a random few milliseconds, then records this execution (job id, attempt,
 * worker id, time) in chaos_ledger over a small pool of its own (CHAOS_LEDGER_URL), and returns,
 * or throws a planned transient error for a share of executions (payload.failRate). An abort
 * (lost lease, shutdown) before the record stops it unrecorded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from '../../src/queue/task.js';
import type { LedgerPayload } from '../ledger.js';
import { recordInLedger } from './_ledger-pool.js';

export default defineTask<LedgerPayload>({
  handler: async (job, ctx) => {
    const { minMs = 1, maxMs = 5, failRate = 0, slowRate = 0, slowMs = 0 } = job.payload;
    const ms = Math.random() < slowRate ? slowMs : minMs + Math.random() * (maxMs - minMs);
    await sleep(ms, undefined, { signal: ctx.signal });
    const fail = Math.random() < failRate;
    await recordInLedger({ jobId: job.id, attempt: ctx.attempt, workerId: ctx.workerId, outcome: fail ? 'fail' : 'ok' });
    if (fail) throw new Error('planned transient failure');
    return { seq: job.payload.seq };
  },
});
