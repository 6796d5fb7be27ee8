/**
 * A security probe: one thing a role tries that must be refused, and the refusal expected.
 * probes.test.ts runs every probe of every list in this folder as one test each.
 */
import assert from 'node:assert/strict';
import type { SupabaseClient } from '@supabase/supabase-js';
import type pg from 'pg';
import type { TestDatabase } from '../../support/database.js';
import { asRole, type ApiRole } from '../sql/queue-sql.js';

export interface ProbeContext {
  db: TestDatabase;
  /** The superuser pool (test set-up only; probes act through the roles below). */
  pool: pg.Pool;
  /** Runs fn in a transaction as PostgREST would: `set local role`, claims with sub = userId. */
  as<T>(role: ApiRole, fn: (client: pg.PoolClient) => Promise<T>, userId?: string): Promise<T>;
  /** Runs fn in a transaction as the role that owns the tables and functions (not a superuser). */
  asOwner<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  /** supabase-js clients on the stand-in: anon key, service key, and a signed-in user. */
  anon: SupabaseClient;
  service: SupabaseClient;
  user(userId: string): SupabaseClient;
}

export interface Probe {
  /** Who tries what, e.g. "service_role: delete history with supajobs.purging = on". */
  name: string;
  /** What must happen instead, e.g. "42501" or "no history row is lost". */
  refusal: string;
  run(ctx: ProbeContext): Promise<void>;
}

/** Asserts that call fails with this SQLSTATE. */
export async function refusedWith(call: Promise<unknown>, sqlState: string, what?: string): Promise<void> {
  await assert.rejects(call, (error: { code?: string; message?: string }) => {
    assert.equal(error.code, sqlState, `${what ?? 'probe'}: expected ${sqlState}, got ${error.code} ${error.message}`);
    return true;
  });
}

export { asRole };
