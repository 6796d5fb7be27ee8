import { DatabaseError, JobError, type JobErrorCode } from '../errors.js';

/** The SQLSTATEs transition_job raises, as the job error codes they become. */
const BY_SQLSTATE: Record<string, JobErrorCode> = {
  SJ001: 'STAGE_TRANSITION_INVALID',
  SJ002: 'STAGE_VERSION_CONFLICT',
  SJ003: 'STAGES_NOT_DECLARED',
};

/** SQLSTATE of transition_job when the worker no longer holds the job. */
export const NOT_HELD = 'SJ004';

/** A workflow call's database error as a JobError with its code (others unchanged). */
export function workflowError(error: unknown): unknown {
  if (!(error instanceof DatabaseError) || !error.sqlState) return error;
  const code = BY_SQLSTATE[error.sqlState];
  return code ? new JobError(code, error.message, { cause: error }) : error;
}
