import type pg from 'pg';
import { asDatabaseError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { sharedBackend } from './pooler.js';

/**
 * Runs the driver's statements on its pool: as named prepared statements (parsed once per
 * connection), or as unnamed ones behind a transaction pooler, where a connection's backend
 * changes between statements. A collision of names switches to unnamed statements for good.
 * Every failure leaves as a DatabaseError.
 */
export class PooledStatements {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  #prepare: boolean;

  constructor(pool: pg.Pool, logger: Logger, prepare: boolean) {
    this.#pool = pool;
    this.#logger = logger;
    this.#prepare = prepare;
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(name: string, text: string, values: unknown[], prepare = true): Promise<R[]> {
    try {
      if (!this.#prepare || !prepare) return (await this.#pool.query<R>({ text, values })).rows;
      try {
        return (await this.#pool.query<R>({ name: `supajobs_${name}`, text, values })).rows;
      } catch (error) {
        if (!sharedBackend(error)) throw error;
        // The statement failed before it ran (at Parse or Bind), so running it again is safe.
        this.#usePooledStatements();
        return (await this.#pool.query<R>({ text, values })).rows;
      }
    } catch (error) {
      throw asDatabaseError(error, name);
    }
  }

  /** Named statements met a backend that is not this connection's own: a transaction pooler. */
  #usePooledStatements(): void {
    if (!this.#prepare) return;
    this.#prepare = false;
    this.#logger.warn(
      'prepared statements collide (a transaction pooler such as PgBouncer shares backends between connections): using unnamed statements from now on',
    );
  }
}
