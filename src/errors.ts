/**
 * Every error code supajobs records on a job (jobs.error_code) or raises, in one registry.
 * docs/errors.md documents each; tests/unit/errors.test.ts keeps the two in step.
 */
export const JOB_ERROR_CODES = {
  UNKNOWN_TASK: { retryable: false, description: 'No handler is registered for the job\'s task.' },
  INVALID_PAYLOAD: { retryable: false, description: 'The payload failed the task\'s schema.' },
  TIMEOUT: { retryable: true, description: 'The handler ran longer than the task\'s timeout and was aborted.' },
  HANDLER_ERROR: { retryable: true, description: 'The handler threw or rejected; retried with backoff.' },
  PERMANENT_FAILURE: { retryable: false, description: 'The handler threw a PermanentJobError; not retried.' },
  RESULT_NOT_SERIALIZABLE: { retryable: false, description: 'The handler returned a value that cannot be stored as JSON.' },
  LEASE_EXPIRED: { retryable: true, description: 'The worker holding the job stopped renewing its lease; set by reclaim_expired_jobs().' },
  RELEASED: { retryable: true, description: 'A stopping worker gave the job back unfinished; the attempt was not counted.' },
  STEP_TIMEOUT: { retryable: true, description: 'A step (ctx.step) ran longer than its timeoutMs.' },
  STAGE_TRANSITION_INVALID: { retryable: false, description: 'ctx.transition asked for a move the task\'s declared stages do not allow (SQLSTATE SJ001).' },
  STAGE_VERSION_CONFLICT: { retryable: true, description: 'Another writer changed the job\'s stage since this attempt read it (SQLSTATE SJ002).' },
  DEPENDENCY_FAILED: { retryable: false, description: 'A job this one depends on failed (dead letter); set by SQL on the waiting job.' },
  DEPENDENCY_CANCELLED: { retryable: false, description: 'A job this one depends on was cancelled; set by SQL on the waiting job.' },
  TRANSACTION_UNAVAILABLE: { retryable: false, description: 'ctx.transaction on the supabase transport, which has no client-side transactions.' },
  SANDBOX_TIMEOUT: { retryable: true, description: 'runSandboxed: the process ran past its wall or CPU time and its group was killed.' },
  SANDBOX_OOM: { retryable: false, description: 'runSandboxed: the process ran out of its memory limit.' },
  SANDBOX_CRASH: { retryable: true, description: 'runSandboxed: the process exited non-zero or by a signal.' },
  SANDBOX_BAD_OUTPUT: { retryable: false, description: 'runSandboxed: stdout was not JSON, too large, or failed the schema.' },
  HTTP_CLIENT_ERROR: { retryable: false, description: 'httpCall: a 4xx answer (but 408, 425, 429).' },
  HTTP_THROTTLED: { retryable: true, description: 'httpCall: 408, 425 or 429; retried after Retry-After when sent.' },
  HTTP_SERVER_ERROR: { retryable: true, description: 'httpCall: a 5xx answer; retried after Retry-After when sent.' },
  HTTP_NETWORK: { retryable: true, description: 'httpCall: the request failed before an answer (refused, reset, DNS).' },
  HTTP_CIRCUIT_OPEN: { retryable: true, description: "httpCall: the host's circuit breaker is open after repeated failures." },
  HOOK_NOT_FOUND: { retryable: false, description: 'A hook job names a task or hook this worker does not have.' },
  STAGES_NOT_DECLARED: { retryable: false, description: 'ctx.transition on a task whose stages are not registered (SQLSTATE SJ003).' },
} as const satisfies Record<string, { retryable: boolean; description: string }>;

export type JobErrorCode = keyof typeof JOB_ERROR_CODES;

/** Codes of errors supajobs raises to its caller (config, database, usage). */
export const PROCESS_ERROR_CODES = {
  CONFIG_INVALID: 'One or more environment variables are missing or invalid.',
  DATABASE_ERROR: 'A queue function call failed; `sqlState` holds the SQLSTATE when the database answered.',
  DATABASE_UNREACHABLE: 'The database (or PostgREST) could not be reached.',
  INVALID_ARGUMENT: 'An argument given to the library or the CLI is invalid.',
  INVALID_SCHEDULE: 'A schedule in job_schedules has a cron expression or time zone the worker cannot read; the scheduler skips it and logs why.',
  WAIT_TIMEOUT: 'waitForJob gave up: the job had not finished when its timeout passed.',
  MIGRATION_LOCK_TIMEOUT: 'Another migrator held the migration lock longer than the lock timeout.',
  EMBEDDED_UNAVAILABLE: 'The embedded PostgreSQL cannot start here (not installed, or out of reach of the `postgres` OS user).',
} as const;

export type ProcessErrorCode = keyof typeof PROCESS_ERROR_CODES;

/**
 * Thrown by a handler: the job fails at once, without retry. `publicMessage` is what the job's
 * owner (an end user) may read (jobs.public_error); the message itself stays with the service.
 */
export class PermanentJobError extends Error {
  readonly code: string;
  readonly publicMessage: string | null;
  constructor(message: string, options?: { code?: string; cause?: unknown; publicMessage?: string }) {
    super(message, { cause: options?.cause });
    this.name = 'PermanentJobError';
    this.code = options?.code ?? 'PERMANENT_FAILURE';
    this.publicMessage = options?.publicMessage ?? null;
  }
}

/** Thrown by a handler: the attempt fails with the application's own code and is retried (after retryAfterMs, when given). */
export class RetryableJobError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { code: string; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'RetryableJobError';
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A job failure with a registered code, raised inside the processor (unknown task, bad payload, timeout). */
/**
 * A job failure with a code: one of the registry's, or the application's own (`GW_5XX`,
 * `RATE_LIMITED`). A registered code keeps its registry's `retryable`; an application's code is
 * retried unless `retryable: false` is given. Retries stop at the job's (and task's) max attempts.
 */
export class JobError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    if (typeof code !== 'string' || code.length < 1 || code.length > 200) {
      throw new TypeError(`JobError: code must be a string of 1 to 200 characters, got ${JSON.stringify(code)}`);
    }
    super(message, { cause: options?.cause });
    this.name = 'JobError';
    this.code = code;
    const registered = Object.hasOwn(JOB_ERROR_CODES, code) ? JOB_ERROR_CODES[code as JobErrorCode].retryable : true;
    this.retryable = options?.retryable ?? registered;
  }
}

/** A failed call to the database, from either transport. */
export class DatabaseError extends Error {
  readonly code: 'DATABASE_ERROR' | 'DATABASE_UNREACHABLE';
  /** SQLSTATE (or PostgREST code) when the database answered. */
  readonly sqlState: string | undefined;
  /** Whether trying again may succeed (network, 5xx, serialization, shutdown). */
  readonly transient: boolean;
  constructor(message: string, options: { sqlState?: string; transient: boolean; unreachable?: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'DatabaseError';
    this.code = options.unreachable ? 'DATABASE_UNREACHABLE' : 'DATABASE_ERROR';
    this.sqlState = options.sqlState;
    this.transient = options.transient;
  }
}

/** SQLSTATE classes worth retrying: connection (08), resources (53), operator intervention (57), serialization (40). */
export function isTransientSqlState(sqlState: string | undefined): boolean {
  if (!sqlState) return false;
  return ['08', '53', '57', '40'].some((cls) => sqlState.startsWith(cls)) && sqlState !== '57014';
}

/**
 * Any error of a database call as a DatabaseError: one carrying a SQLSTATE (pg's `code`) is
 * transient by its class; one without (a refused, reset or timed-out socket) is transient and
 * means the database was unreachable.
 */
export function asDatabaseError(error: unknown, what: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const err = error as { code?: unknown; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const sqlState = code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const message = `${what}: ${err.message ?? String(error)}`;
  if (sqlState) return new DatabaseError(message, { sqlState, transient: isTransientSqlState(sqlState), cause: error });
  return new DatabaseError(message, { transient: true, unreachable: true, cause: error });
}

/** migrate() waited longer than its lock timeout for another migrator. */
export class MigrationLockTimeoutError extends Error {
  readonly code = 'MIGRATION_LOCK_TIMEOUT';
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(
      `waited ${timeoutMs} ms for the migration lock: another migrate is still running (or stuck; its backend shows in pg_locks with locktype 'advisory')`,
      options,
    );
    this.name = 'MigrationLockTimeoutError';
  }
}

/** The embedded default cannot run here; the message says why and what to do, in one line. */
export class EmbeddedUnavailableError extends Error {
  readonly code = 'EMBEDDED_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedUnavailableError';
  }
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** waitForJob's timeout passed before the job reached completed, failed or cancelled. */
export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  readonly jobId: string;
  constructor(jobId: string, timeoutMs: number) {
    super(`job ${jobId} did not finish within ${timeoutMs} ms`);
    this.name = 'WaitTimeoutError';
    this.jobId = jobId;
  }
}
