import type { Attributes } from '@opentelemetry/api';
import type { Job } from '../job.js';
import type { JobOutcome } from '../queue/run-job.js';

/** messaging.system of every span (the semantic conventions allow a system's own name). */
export const MESSAGING_SYSTEM = 'supajobs';

/**
 * A job's span attributes, after the OpenTelemetry messaging conventions (a queue is the
 * destination, a job the message) plus supajobs.job.* for what they have no name for.
 */
export function jobAttributes(job: Job, workerId: string, operationType: string, operationName: string): Attributes {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': operationType,
    'messaging.operation.name': operationName,
    'messaging.destination.name': job.queue,
    'messaging.message.id': job.id,
    'messaging.consumer.group.name': job.queue,
    'messaging.client.id': workerId,
    'supajobs.job.task': job.task,
    'supajobs.job.attempt': job.attempts,
    'supajobs.job.max_attempts': job.maxAttempts,
  };
}

/** The run span's outcome: completed, failed (with error.type = the job error code) or aborted. */
export function outcomeAttributes(outcome: JobOutcome): Attributes {
  switch (outcome.kind) {
    case 'completed':
      return { 'supajobs.job.outcome': 'completed' };
    case 'failed':
      return { 'supajobs.job.outcome': 'failed', 'error.type': outcome.code, 'supajobs.job.error_code': outcome.code, 'supajobs.job.retryable': outcome.retryable };
    case 'aborted':
      return { 'supajobs.job.outcome': 'aborted', 'supajobs.job.abort_cause': outcome.cause };
  }
}
