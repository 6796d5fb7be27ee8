/**
 * One request, one transaction, as PostgREST runs it: the role from the JWT (`set local role`
 * through set_config), the claims in `request.jwt.claims` (what auth.uid() reads), the request's
 * method, path and headers, and search_path set to the exposed schema.
 */
import type pg from 'pg';
import type { RequestAuth } from './rest-auth.js';

export interface RequestContext {
  auth: RequestAuth;
  method: string;
  path: string;
  headers: Record<string, unknown>;
}

export async function inRequestTransaction<T>(
  pool: pg.Pool,
  context: RequestContext,
  options: { readOnly: boolean },
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(options.readOnly ? 'begin isolation level read committed read only' : 'begin isolation level read committed');
    await client.query(
      `select set_config('search_path', 'public, extensions', true),
              set_config('role', $1, true),
              set_config('request.jwt.claims', $2, true),
              set_config('request.method', $3, true),
              set_config('request.path', $4, true),
              set_config('request.headers', $5, true)`,
      [context.auth.role, JSON.stringify(context.auth.claims), context.method, context.path, JSON.stringify(context.headers)],
    );
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch((e: Error) => (broken = e));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Runs a read-only query as a role with claims (Realtime's per-subscriber visibility check). */
export async function asRole<T>(pool: pg.Pool, auth: RequestAuth, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inRequestTransaction(pool, { auth, method: 'GET', path: '/realtime', headers: {} }, { readOnly: true }, work);
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
