/**
 * The chaos task: works a random few milliseconds, then records this execution (job id, attempt,
 * worker id, time) in chaos_ledger over a small pool of its own (CHAOS_LEDGER_URL), and returns,
 * or throws a planned transient error for a share of executions (payload.failRate). An abort
 * (lost lease, shutdown) before the record stops it unrecorded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { defineTask } from '../../src/queue/task.js';
import type { LedgerPayload } from '../ledger.js';

let pool: pg.Pool | undefined;

function ledgerPool(): pg.Pool {
  if (!pool) {
    const url = process.env.CHAOS_LEDGER_URL;
    if (!url) throw new Error('CHAOS_LEDGER_URL is not set');
    // Idle connections are kept, so that a fault aimed at the worker's own connections spares these.
    pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 0, application_name: 'supajobs-chaos-ledger' });
    pool.on('error', () => undefined);
  }
  return pool;
}

export default defineTask<LedgerPayload>({
  handler: async (job, ctx) => {
    const { minMs = 1, maxMs = 5, failRate = 0, slowRate = 0, slowMs = 0 } = job.payload;
    const ms = Math.random() < slowRate ? slowMs : minMs + Math.random() * (maxMs - minMs);
    await sleep(ms, undefined, { signal: ctx.signal });
    const fail = Math.random() < failRate;
    await ledgerPool().query('insert into chaos_ledger (job_id, attempt, worker_id, outcome) values ($1, $2, $3, $4)', [
      job.id,
      ctx.attempt,
      ctx.workerId,
      fail ? 'fail' : 'ok',
    ]);
    if (fail) throw new Error('planned transient failure');
    return { seq: job.payload.seq };
  },
});
