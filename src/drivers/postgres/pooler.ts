/**
 * Whether a connection URL goes through a transaction-mode pooler, where LISTEN never receives
 * and named prepared statements break: Supabase's transaction pooler (port 6543), or any URL that
 * says so with `?pgbouncer=true` (the convention Prisma and others use).
 */
export function usesTransactionPooler(connectionString: string): boolean {
  try {
    const url = new URL(connectionString);
    return url.port === '6543' || url.searchParams.get('pgbouncer') === 'true';
  } catch {
    return false;
  }
}

/** The URL without `pgbouncer=true`, which PostgreSQL would reject as an unknown startup parameter. */
export function withoutPoolerFlag(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (!url.searchParams.has('pgbouncer')) return connectionString;
    url.searchParams.delete('pgbouncer');
    return url.toString();
  } catch {
    return connectionString;
  }
}

/**
 * 42P05 (a name already prepared on this backend) or 26000 (a name this backend never prepared):
 * the server behind this connection changes between statements, as behind a transaction pooler.
 */
export function sharedBackend(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '42P05' || code === '26000';
}
