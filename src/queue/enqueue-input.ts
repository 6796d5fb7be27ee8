import { DatabaseError } from '../errors.js';
import type { EnqueueInput } from '../job.js';

/**
 * Refuses a job before it reaches the database when its payload is larger than maxPayloadBytes
 * (Realtime drops changes over 1,024 KB, and huge rows slow every claim) or cannot be JSON.
 */
export function checkEnqueueInput(input: EnqueueInput, maxPayloadBytes: number, index?: number): void {
  const where = index === undefined ? 'job' : `jobs[${index}]`;
  if (!input || typeof input !== 'object' || typeof input.task !== 'string' || input.task.length === 0) {
    throw invalid(`${where}: "task" must be a non-empty string`);
  }
  // A misspelt option must not be dropped silently (e.g. max_attempts for maxAttempts).
  const unknown = Object.keys(input).find((key) => !ENQUEUE_KEYS.has(key));
  if (unknown !== undefined) {
    throw invalid(`${where}: unknown key "${unknown}" (known: ${[...ENQUEUE_KEYS].join(', ')})`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(input.payload ?? {});
  } catch (error) {
    throw invalid(`${where}: payload is not JSON-serializable (${(error as Error).message})`);
  }
  const bytes = Buffer.byteLength(json ?? '', 'utf8');
  if (bytes > maxPayloadBytes) {
    throw invalid(`${where}: payload is ${bytes} bytes, over the limit of ${maxPayloadBytes} (MAX_PAYLOAD_BYTES)`);
  }
}

const ENQUEUE_KEYS = new Set<string>([
  'task', 'payload', 'queue', 'priority', 'runAt', 'maxAttempts', 'jobKey', 'groupKey', 'userId', 'backoffBaseSeconds', 'backoffMaxSeconds', 'traceparent',
] satisfies (keyof EnqueueInput)[]);

/** The same error the database raises for a bad argument (SQLSTATE 22023), so callers handle one kind. */
function invalid(message: string): DatabaseError {
  return new DatabaseError(message, { sqlState: '22023', transient: false });
}
