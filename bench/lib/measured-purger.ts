import pg from 'pg';
import type { FinishedStatus } from '../../src/job.js';
import { hrMs } from './clock.js';

/**
 * purge_jobs on a connection of its own, each call in a transaction under EXPLAIN (ANALYZE, WAL):
 * the WAL its statements wrote, counted by this backend alone. Returns what purge_jobs returns.
 */
export class MeasuredPurger {
  readonly #client: pg.Client;
  readonly wal = { bytes: 0, records: 0, fpi: 0 };
  calls = 0;
  longestMs = 0;

  constructor(connectionString: string) {
    this.#client = new pg.Client({ connectionString });
  }

  async connect(): Promise<void> {
    await this.#client.connect();
  }

  end(): Promise<void> {
    return this.#client.end();
  }

  async purge(olderThanSeconds: number, statuses: FinishedStatus[] = ['completed', 'cancelled'], batchSize?: number): Promise<number | null> {
    const started = hrMs();
    await this.#client.query('begin');
    try {
      const { rows } = await this.#client.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(
        // The count goes out through a transaction-local setting, which writes no WAL.
        "explain (analyze, wal, format json) select set_config('supajobs_bench.purged', coalesce(public.purge_jobs(make_interval(secs => $1), $2::text[], $3::integer)::text, 'busy'), true)",
        [olderThanSeconds, statuses, batchSize ?? null],
      );
      const top = rows[0]!['QUERY PLAN'][0].Plan;
      this.wal.bytes += top['WAL Bytes'] ?? 0;
      this.wal.records += top['WAL Records'] ?? 0;
      this.wal.fpi += top['WAL FPI'] ?? 0;
      const purged = (await this.#client.query<{ n: string }>("select current_setting('supajobs_bench.purged') as n")).rows[0]?.n;
      await this.#client.query('commit');
      this.calls++;
      this.longestMs = Math.max(this.longestMs, hrMs() - started);
      return purged === 'busy' ? null : Number(purged);
    } catch (error) {
      await this.#client.query('rollback');
      throw error;
    }
  }
}
