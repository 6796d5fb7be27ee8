/**
 * What the chaos tasks share (a leading _ keeps it from being loaded as a task): their own small
 * pool to the ledger (CHAOS_LEDGER_URL), and one insert per ledger row.
 */
import pg from 'pg';
import type { LedgerOutcome } from '../ledger.js';

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

export interface LedgerRow {
  jobId: string;
  attempt: number;
  workerId: string;
  outcome: LedgerOutcome;
  /** The step (or, for a hook, the lifecycle event) the row is about. */
  step?: string | null;
}

export async function recordInLedger(row: LedgerRow): Promise<void> {
  await ledgerPool().query('insert into chaos_ledger (job_id, attempt, worker_id, outcome, step) values ($1, $2, $3, $4, $5)', [
    row.jobId,
    row.attempt,
    row.workerId,
    row.outcome,
    row.step ?? null,
  ]);
}
