import { hostname } from 'node:os';
import path from 'node:path';

/**
 * One configuration variable: its name in the environment, how a set value is read (throws when
 * invalid), its default, what it expects (for the error message, never with the value: it may be
 * a secret) and, where the Config field is not the value itself, how it is derived.
 */
export interface Setting<T, V = T> {
  env: string;
  parse: (text: string) => T;
  default: T;
  expects: string;
  derive?: (value: T) => V;
}

function setting<const E extends string, T, V = T>(
  env: E,
  parse: (text: string) => T,
  fallback: T,
  expects: string,
  derive?: (value: T) => V,
): Setting<T, V> & { env: E } {
  return { env, parse, default: fallback, expects, derive };
}

const wholeNumber = (min: number, max: number) => (text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`a whole number from ${min} to ${max}`);
  return value;
};

const oneOf =
  <const C extends string>(...choices: C[]) =>
  (text: string): C => {
    if (!(choices as string[]).includes(text)) throw new Error(`one of ${choices.join(', ')}`);
    return text as C;
  };

const anyText = (text: string) => text;

const boundedText = (max: number) => (text: string) => {
  if (text.length > max) throw new Error(`at most ${max} characters`);
  return text;
};

const urlText = (text: string) => {
  new URL(text);
  return text;
};

const yesNo = (text: string) => {
  if (['true', 't', 'yes', 'on', '1'].includes(text)) return true;
  if (['false', 'f', 'no', 'off', '0'].includes(text)) return false;
  throw new Error('true or false');
};

const queueList = (text: string) => {
  const names = text.split(',').map((q) => q.trim());
  if (names.some((q) => q.length === 0 || q.length > 200)) throw new Error('comma-separated queue names');
  return names;
};

/** `5` (every queue) or `emails=1,default=10,*=20`. */
const thresholds = (text: string): Readonly<Record<string, number>> => {
  const result: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!/^(?:[^=]{1,200}=)?[1-9][0-9]{0,8}$/.test(part)) throw new Error('a count, or queue=count pairs');
    const at = part.lastIndexOf('=');
    result[at < 0 ? '*' : part.slice(0, at)] = Number(part.slice(at + 1));
  }
  return Object.freeze(result);
};

const secretToken = (text: string) => {
  if (text.length < 16) throw new Error('at least 16 characters');
  return text;
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every configuration variable, once. The Config type, DEFAULTS and CONFIG_VARIABLES of
 * src/config.ts are derived from this table; README.md and .env.example list the same variables
 * (tests/unit/env-example.test.ts keeps them in step).
 */
export const SETTINGS = {
  transport: setting('TRANSPORT', oneOf('auto', 'postgres', 'supabase', 'embedded'), 'auto', 'auto, postgres, supabase or embedded'),
  databaseUrl: setting<'DATABASE_URL', string | null>('DATABASE_URL', urlText, null, 'a postgres:// connection URL'),
  supabaseUrl: setting<'SUPABASE_URL', string | null>('SUPABASE_URL', urlText, null, 'the project URL, e.g. https://<ref>.supabase.co'),
  supabaseServiceRoleKey: setting<'SUPABASE_SERVICE_ROLE_KEY', string | null>('SUPABASE_SERVICE_ROLE_KEY', anyText, null, 'the service_role key'),
  /** The supabase transport's wake-ups: Realtime's per-row postgres_changes, or one broadcast per statement from the database (docs/supabase.md). */
  realtimeWakeUps: setting('REALTIME_WAKE_UPS', oneOf('postgres_changes', 'broadcast'), 'postgres_changes', 'postgres_changes or broadcast'),
  workerId: setting<'WORKER_ID', string | null, string>('WORKER_ID', boundedText(200), null, '1 to 200 characters', (id) => id ?? `${hostname()}-${process.pid}`),
  /** null: every queue. */
  queues: setting<'QUEUES', string[] | null>('QUEUES', queueList, null, 'comma-separated queue names (empty: every queue)'),
  maxConcurrentJobs: setting('MAX_CONCURRENT_JOBS', wholeNumber(1, 1000), 10, 'a whole number from 1 to 1000'),
  pollIntervalMs: setting('POLL_INTERVAL_MS', wholeNumber(10, 3_600_000), 10_000, 'milliseconds, 10 to 3600000'),
  leaseSeconds: setting('LEASE_SECONDS', wholeNumber(5, 86_400), 60, 'seconds, 5 to 86400'),
  jobTimeoutMs: setting('JOB_TIMEOUT_MS', wholeNumber(1, 86_400_000), 5 * 60_000, 'milliseconds, 1 to 86400000'),
  shutdownTimeoutMs: setting('SHUTDOWN_TIMEOUT_MS', wholeNumber(0, 3_600_000), 30_000, 'milliseconds, 0 to 3600000'),
  reclaimIntervalMs: setting('RECLAIM_INTERVAL_MS', wholeNumber(100, 3_600_000), 15_000, 'milliseconds, 100 to 3600000'),
  /** A round trip on the LISTEN connection this often proves it alive (a half-open socket is replaced). */
  listenCheckIntervalMs: setting('LISTEN_CHECK_INTERVAL_MS', wholeNumber(1_000, 3_600_000), 15_000, 'milliseconds, 1000 to 3600000'),
  healthCheckPort: setting('HEALTH_CHECK_PORT', wholeNumber(0, 65_535), 8080, 'a TCP port (0: any free port)'),
  healthCheckHost: setting('HEALTH_CHECK_HOST', anyText, '0.0.0.0', 'an interface address to listen on'),
  /** 0 turns the queue monitor off. */
  monitorIntervalMs: setting('MONITOR_INTERVAL_MS', wholeNumber(0, 86_400_000), 30_000, 'milliseconds (0: off)'),
  logLevel: setting('LOG_LEVEL', oneOf(...LOG_LEVELS), 'info', 'fatal, error, warn, info, debug, trace or silent'),
  nodeEnv: setting('NODE_ENV', oneOf('development', 'production', 'test'), 'development', 'development, production or test'),
  /** Folder of task modules; null: the built-in example tasks. */
  tasksDir: setting<'TASKS_DIR', string | null>('TASKS_DIR', anyText, null, 'a folder of task modules', (dir) => (dir === null ? null : path.resolve(dir))),
  databasePoolSize: setting('DATABASE_POOL_SIZE', wholeNumber(1, 500), 10, 'a whole number from 1 to 500'),
  /** A database call without an answer for this long fails and its connection is replaced. */
  databaseQueryTimeoutMs: setting('DATABASE_QUERY_TIMEOUT_MS', wholeNumber(1_000, 3_600_000), 30_000, 'milliseconds, 1000 to 3600000'),
  /** Largest payload enqueue accepts (Realtime delivers at most 1,024 KB per change). */
  maxPayloadBytes: setting('MAX_PAYLOAD_BYTES', wholeNumber(1, 100 * 1024 * 1024), 512 * 1024, 'bytes, 1 to 104857600'),
  migrateOnStart: setting('MIGRATE_ON_START', yesNo, true, 'true or false'),
  /** Serve the admin API and dashboard with this bearer token; null: they are not served (404). */
  adminToken: setting<'ADMIN_TOKEN', string | null>('ADMIN_TOKEN', secretToken, null, 'a secret of at least 16 characters (unset: no admin API or dashboard)'),
  /** How often the admin stream looks for new job events. */
  adminStreamIntervalMs: setting('ADMIN_STREAM_INTERVAL_MS', wholeNumber(100, 60_000), 1_000, 'milliseconds, 100 to 60000'),
  embeddedDir: setting('EMBEDDED_DIR', anyText, '.supajobs', 'a folder for the embedded PostgreSQL', (dir) => path.resolve(dir)),
  embeddedPort: setting('EMBEDDED_PORT', wholeNumber(1, 65_535), 54329, 'a TCP port'),
  /** Fire the ticks of public.job_schedules from this worker (any number of workers may). */
  scheduler: setting('SCHEDULER', yesNo, true, 'true or false'),
  /** A tick at most this old when a worker sees it is enqueued; older ones follow the schedule's missed policy. */
  scheduleCatchUpMs: setting('SCHEDULE_CATCH_UP_MS', wholeNumber(1_000, 86_400_000), 60_000, 'milliseconds, 1000 to 86400000'),
  /** Re-read schedules and queue controls this often (changes made elsewhere apply within it). */
  controlSyncIntervalMs: setting('CONTROL_SYNC_INTERVAL_MS', wholeNumber(100, 3_600_000), 10_000, 'milliseconds, 100 to 3600000'),
  /** While a queue this worker claims from is paused or limited, or keyed jobs run: claim again this soon after a short claim. */
  flowControlPollMs: setting('FLOW_CONTROL_POLL_MS', wholeNumber(10, 3_600_000), 500, 'milliseconds, 10 to 3600000'),
  /** Completed and cancelled jobs last changed longer ago than this are purged by the worker; 0: kept. */
  retentionCompletedSeconds: setting('RETENTION_COMPLETED_SECONDS', wholeNumber(0, 315_360_000), 0, 'seconds, 0 to 315360000 (0: kept until purged)'),
  /** Failed jobs (dead letters) likewise; 0: kept. */
  retentionFailedSeconds: setting('RETENTION_FAILED_SECONDS', wholeNumber(0, 315_360_000), 0, 'seconds, 0 to 315360000 (0: kept until purged)'),
  /** How often the worker purges what is past retention (one worker of the fleet at a time). */
  retentionIntervalMs: setting('RETENTION_INTERVAL_MS', wholeNumber(1_000, 86_400_000), 60_000, 'milliseconds, 1000 to 86400000'),
  /** Jobs per purge transaction (retention, `supajobs purge`, QueueClient.purge). */
  retentionBatchSize: setting('RETENTION_BATCH_SIZE', wholeNumber(1, 100_000), 1_000, 'a whole number from 1 to 100000'),
  /** Least pause between two purge transactions (a batch that took longer is followed by as long a pause). */
  retentionBatchPauseMs: setting('RETENTION_BATCH_PAUSE_MS', wholeNumber(0, 60_000), 100, 'milliseconds, 0 to 60000'),
  /** Dead letters per queue (queue → count; '*' every other queue) that fire the alert; null: off. */
  deadLetterAlertThreshold: setting<'DEAD_LETTER_ALERT_THRESHOLD', Readonly<Record<string, number>> | null>(
    'DEAD_LETTER_ALERT_THRESHOLD', thresholds, null, 'a count (every queue) or queue=count pairs, e.g. emails=1,*=10'),
  /** The dead-letter alert is also POSTed here as JSON. */
  deadLetterAlertWebhookUrl: setting<'DEAD_LETTER_ALERT_WEBHOOK_URL', string | null>('DEAD_LETTER_ALERT_WEBHOOK_URL', urlText, null, 'an http(s) URL'),
};
