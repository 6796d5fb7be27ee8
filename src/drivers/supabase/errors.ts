import { DatabaseError, isTransientSqlState } from '../../errors.js';

/** What supabase-js returns for a failed call: a PostgREST error body, or a network error (status 0). */
export interface RpcFailure {
  message?: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

/**
 * A failed RPC as a DatabaseError. sqlState is PostgREST's `code` (a SQLSTATE such as 22023, or a
 * PGRSTxxx code). Transient: network failures and timeouts (status 0), every 5xx (PostgREST's
 * answer for connection trouble, serialization failures, cancelled statements) and 429.
 */
export function rpcError(fn: string, failure: RpcFailure, status: number): DatabaseError {
  const sqlState = failure.code ? failure.code : undefined;
  const network = status === 0;
  const transient = network || status >= 500 || status === 429 || isTransientSqlState(sqlState);
  const unreachable = network || status === 502 || status === 503 || status === 504;
  const where = network ? 'network' : `HTTP ${status}`;
  return new DatabaseError(`${fn}: ${failure.message ?? 'request failed'} (${where})`, {
    sqlState,
    transient,
    unreachable,
    cause: { status, code: failure.code, details: failure.details, hint: failure.hint },
  });
}
