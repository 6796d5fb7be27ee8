import { DatabaseError, isTransientSqlState } from '../../errors.js';

/** A pg error (SQLSTATE in `code`) or a socket error, as a DatabaseError. */
export function toDatabaseError(error: unknown, what: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const err = error as { code?: unknown; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const sqlState = code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const message = `${what}: ${err.message ?? String(error)}`;
  if (sqlState) return new DatabaseError(message, { sqlState, transient: isTransientSqlState(sqlState), cause: error });
  return new DatabaseError(message, { transient: true, unreachable: true, cause: error });
}
