/**
 * PostgREST's error responses: a JSON body {code, message, details, hint} (absent fields null)
 * and the HTTP status PostgREST derives from the SQLSTATE.
 */

export class RestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: string | null;
  readonly hint: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: string | null; hint?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = extra.details ?? null;
    this.hint = extra.hint ?? null;
    this.headers = extra.headers ?? {};
  }

  body(): { code: string; message: string; details: string | null; hint: string | null } {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

/** PostgREST's SQLSTATE → HTTP status table. 42501 depends on whether the request was anonymous. */
export function statusForSqlState(sqlState: string, anonymous: boolean): number {
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '53400': 500,
    P0001: 400,
    '42883': 404,
    '42P01': 404,
  };
  if (sqlState in exact) return exact[sqlState] as number;
  if (sqlState === '42501') return anonymous ? 401 : 403;
  if (/^PT\d{3}$/.test(sqlState)) return Number(sqlState.slice(2));
  const byClass: [string, number][] = [
    ['08', 503], ['09', 500], ['0L', 403], ['0P', 403], ['25', 500], ['28', 403], ['2D', 500],
    ['38', 500], ['39', 500], ['3B', 500], ['40', 500], ['53', 503], ['54', 500], ['55', 500],
    ['57', 500], ['58', 500], ['F0', 500], ['HV', 500], ['P0', 500], ['XX', 500],
  ];
  return byClass.find(([prefix]) => sqlState.startsWith(prefix))?.[1] ?? 400;
}

/** An error thrown while running a request's SQL, as PostgREST would answer it. */
export function restErrorFromDatabase(error: unknown, anonymous: boolean): RestError {
  if (error instanceof RestError) return error;
  const e = error as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const status = statusForSqlState(e.code, anonymous);
    return new RestError(status, e.code, message, {
      details: typeof e.detail === 'string' ? e.detail : null,
      hint: typeof e.hint === 'string' ? e.hint : null,
      headers: status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {},
    });
  }
  // No SQLSTATE: the database connection itself failed.
  return new RestError(503, 'PGRST001', 'Database client error. Retrying the connection.', { details: message });
}
