import { hostname } from 'node:os';
import path from 'node:path';
import { bool, cleanEnv, makeValidator, num, port, str, url } from 'envalid';
import { ConfigError } from './errors.js';

/** Every default in one place. */
export const DEFAULTS = {
  queues: null,
  maxConcurrentJobs: 10,
  pollIntervalMs: 10_000,
  leaseSeconds: 60,
  jobTimeoutMs: 5 * 60_000,
  shutdownTimeoutMs: 30_000,
  reclaimIntervalMs: 15_000,
  listenCheckIntervalMs: 15_000,
  healthCheckPort: 8080,
  healthCheckHost: '0.0.0.0',
  monitorIntervalMs: 30_000,
  logLevel: 'info',
  nodeEnv: 'development',
  databasePoolSize: 10,
  databaseQueryTimeoutMs: 30_000,
  maxPayloadBytes: 512 * 1024,
  embeddedDir: '.supajobs',
  embeddedPort: 54329,
  migrateOnStart: true,
  deadLetterAlertThreshold: null,
  deadLetterAlertWebhookUrl: null,
} as const;

export type Transport = 'postgres' | 'supabase' | 'embedded';

export interface Config {
  transport: Transport;
  databaseUrl: string | null;
  supabaseUrl: string | null;
  supabaseServiceRoleKey: string | null;
  workerId: string;
  /** null: every queue. */
  queues: string[] | null;
  maxConcurrentJobs: number;
  pollIntervalMs: number;
  leaseSeconds: number;
  jobTimeoutMs: number;
  shutdownTimeoutMs: number;
  reclaimIntervalMs: number;
  /** A round trip on the LISTEN connection this often proves it alive (a half-open socket is replaced). */
  listenCheckIntervalMs: number;
  healthCheckPort: number;
  healthCheckHost: string;
  /** 0 turns the queue monitor off. */
  monitorIntervalMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  nodeEnv: 'development' | 'production' | 'test';
  /** Folder of task modules; null: the built-in example tasks. */
  tasksDir: string | null;
  databasePoolSize: number;
  /** A database call without an answer for this long fails and its connection is replaced. */
  databaseQueryTimeoutMs: number;
  /** Largest payload enqueue accepts (Realtime delivers at most 1,024 KB per change). */
  maxPayloadBytes: number;
  migrateOnStart: boolean;
  embedded: { dir: string; port: number };
  /** Dead letters per queue (queue → count; '*' every other queue) that fire the alert; null: off. */
  deadLetterAlertThreshold: Readonly<Record<string, number>> | null;
  /** The alert is also POSTed here as JSON. */
  deadLetterAlertWebhookUrl: string | null;
}

const positiveInt = (min: number, max: number) =>
  makeValidator<number>((input) => {
    const value = Number(input);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`a whole number from ${min} to ${max}`);
    return value;
  });

/** `5` (every queue) or `emails=1,default=10,*=20`. */
const thresholdList = makeValidator<string>((input) => {
  const parts = input.split(',').map((p) => p.trim());
  const ok = parts.every((p) => /^(?:[^=]{1,200}=)?[1-9][0-9]{0,8}$/.test(p));
  if (!ok) throw new Error('a count, or queue=count pairs');
  return parts.join(',');
});

function parseThresholds(value: string | undefined): Record<string, number> | null {
  if (!value) return DEFAULTS.deadLetterAlertThreshold;
  const thresholds: Record<string, number> = {};
  for (const part of value.split(',')) {
    const at = part.lastIndexOf('=');
    thresholds[at < 0 ? '*' : part.slice(0, at)] = Number(part.slice(at + 1));
  }
  return Object.freeze(thresholds);
}

const queueList = makeValidator<string>((input) => {
  const names = input.split(',').map((q) => q.trim());
  if (names.some((q) => q.length === 0 || q.length > 200)) throw new Error('comma-separated queue names');
  return names.join(',');
});

/** What each variable expects, for the error message (never the value: it may be a secret). */
const SPECS = {
  TRANSPORT: str({ choices: ['auto', 'postgres', 'supabase', 'embedded'], default: 'auto', desc: 'auto, postgres, supabase or embedded' }),
  DATABASE_URL: url({ default: undefined, desc: 'a postgres:// connection URL' }),
  SUPABASE_URL: url({ default: undefined, desc: 'the project URL, e.g. https://<ref>.supabase.co' }),
  SUPABASE_SERVICE_ROLE_KEY: str({ default: undefined, desc: 'the service_role key' }),
  WORKER_ID: str({ default: undefined, desc: '1 to 200 characters' }),
  QUEUES: queueList({ default: undefined, desc: 'comma-separated queue names (empty: every queue)' }),
  MAX_CONCURRENT_JOBS: positiveInt(1, 1000)({ default: DEFAULTS.maxConcurrentJobs, desc: 'a whole number from 1 to 1000' }),
  POLL_INTERVAL_MS: positiveInt(10, 3_600_000)({ default: DEFAULTS.pollIntervalMs, desc: 'milliseconds, 10 to 3600000' }),
  LEASE_SECONDS: positiveInt(5, 86_400)({ default: DEFAULTS.leaseSeconds, desc: 'seconds, 5 to 86400' }),
  JOB_TIMEOUT_MS: positiveInt(1, 86_400_000)({ default: DEFAULTS.jobTimeoutMs, desc: 'milliseconds, 1 to 86400000' }),
  SHUTDOWN_TIMEOUT_MS: positiveInt(0, 3_600_000)({ default: DEFAULTS.shutdownTimeoutMs, desc: 'milliseconds, 0 to 3600000' }),
  RECLAIM_INTERVAL_MS: positiveInt(100, 3_600_000)({ default: DEFAULTS.reclaimIntervalMs, desc: 'milliseconds, 100 to 3600000' }),
  LISTEN_CHECK_INTERVAL_MS: positiveInt(1_000, 3_600_000)({ default: DEFAULTS.listenCheckIntervalMs, desc: 'milliseconds, 1000 to 3600000' }),
  HEALTH_CHECK_PORT: positiveInt(0, 65_535)({ default: DEFAULTS.healthCheckPort, desc: 'a TCP port (0: any free port)' }),
  HEALTH_CHECK_HOST: str({ default: DEFAULTS.healthCheckHost, desc: 'an interface address to listen on' }),
  MONITOR_INTERVAL_MS: positiveInt(0, 86_400_000)({ default: DEFAULTS.monitorIntervalMs, desc: 'milliseconds (0: off)' }),
  LOG_LEVEL: str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: DEFAULTS.logLevel, desc: 'fatal, error, warn, info, debug, trace or silent' }),
  NODE_ENV: str({ choices: ['development', 'production', 'test'], default: DEFAULTS.nodeEnv, desc: 'development, production or test' }),
  TASKS_DIR: str({ default: undefined, desc: 'a folder of task modules' }),
  DATABASE_POOL_SIZE: positiveInt(1, 500)({ default: DEFAULTS.databasePoolSize, desc: 'a whole number from 1 to 500' }),
  DATABASE_QUERY_TIMEOUT_MS: positiveInt(1_000, 3_600_000)({ default: DEFAULTS.databaseQueryTimeoutMs, desc: 'milliseconds, 1000 to 3600000' }),
  MAX_PAYLOAD_BYTES: positiveInt(1, 100 * 1024 * 1024)({ default: DEFAULTS.maxPayloadBytes, desc: 'bytes, 1 to 104857600' }),
  MIGRATE_ON_START: bool({ default: DEFAULTS.migrateOnStart, desc: 'true or false' }),
  EMBEDDED_DIR: str({ default: DEFAULTS.embeddedDir, desc: 'a folder for the embedded PostgreSQL' }),
  EMBEDDED_PORT: port({ default: DEFAULTS.embeddedPort, desc: 'a TCP port' }),
  DEAD_LETTER_ALERT_THRESHOLD: thresholdList({ default: undefined, desc: 'a count (every queue) or queue=count pairs, e.g. emails=1,*=10' }),
  DEAD_LETTER_ALERT_WEBHOOK_URL: url({ default: undefined, desc: 'an http(s) URL' }),
};

export type ConfigVariable = keyof typeof SPECS;
export const CONFIG_VARIABLES = Object.keys(SPECS) as ConfigVariable[];

/**
 * Reads the environment into a frozen, typed Config. Throws one ConfigError naming every bad
 * variable with what it expects, never with its value.
 */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // An empty variable (e.g. `DATABASE_URL=` in .env) means unset.
  const env = Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== ''));
  const problems: string[] = [];
  const clean = cleanEnv(env, SPECS, {
    reporter: ({ errors }) => {
      for (const name of Object.keys(errors) as ConfigVariable[]) {
        problems.push(`${name}: expected ${SPECS[name].desc}`);
      }
    },
  });

  // Cross-variable rules read the raw values: a variable that failed above is absent from `clean`.
  if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
    problems.push('SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL');
  }
  if (env.WORKER_ID !== undefined && env.WORKER_ID.length > 200) problems.push(`WORKER_ID: expected ${SPECS.WORKER_ID.desc}`);
  const transport = chooseTransport(env.TRANSPORT ?? 'auto', env.DATABASE_URL, env.SUPABASE_URL, problems);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }

  return Object.freeze({
    transport: transport as Transport,
    databaseUrl: clean.DATABASE_URL ?? null,
    supabaseUrl: clean.SUPABASE_URL ?? null,
    supabaseServiceRoleKey: clean.SUPABASE_SERVICE_ROLE_KEY ?? null,
    workerId: clean.WORKER_ID ?? `${hostname()}-${process.pid}`,
    queues: clean.QUEUES ? clean.QUEUES.split(',') : DEFAULTS.queues,
    maxConcurrentJobs: clean.MAX_CONCURRENT_JOBS,
    pollIntervalMs: clean.POLL_INTERVAL_MS,
    leaseSeconds: clean.LEASE_SECONDS,
    jobTimeoutMs: clean.JOB_TIMEOUT_MS,
    shutdownTimeoutMs: clean.SHUTDOWN_TIMEOUT_MS,
    reclaimIntervalMs: clean.RECLAIM_INTERVAL_MS,
    listenCheckIntervalMs: clean.LISTEN_CHECK_INTERVAL_MS,
    healthCheckPort: clean.HEALTH_CHECK_PORT,
    healthCheckHost: clean.HEALTH_CHECK_HOST,
    monitorIntervalMs: clean.MONITOR_INTERVAL_MS,
    logLevel: clean.LOG_LEVEL as Config['logLevel'],
    nodeEnv: clean.NODE_ENV as Config['nodeEnv'],
    tasksDir: clean.TASKS_DIR ? path.resolve(clean.TASKS_DIR) : null,
    databasePoolSize: clean.DATABASE_POOL_SIZE,
    databaseQueryTimeoutMs: clean.DATABASE_QUERY_TIMEOUT_MS,
    maxPayloadBytes: clean.MAX_PAYLOAD_BYTES,
    migrateOnStart: clean.MIGRATE_ON_START,
    embedded: Object.freeze({ dir: path.resolve(clean.EMBEDDED_DIR), port: clean.EMBEDDED_PORT }),
    deadLetterAlertThreshold: parseThresholds(clean.DEAD_LETTER_ALERT_THRESHOLD),
    deadLetterAlertWebhookUrl: clean.DEAD_LETTER_ALERT_WEBHOOK_URL ?? DEFAULTS.deadLetterAlertWebhookUrl,
  });
}

/** SUPABASE_URL → supabase, DATABASE_URL → postgres, neither → embedded; both need TRANSPORT. */
function chooseTransport(
  requested: string,
  databaseUrl: string | undefined,
  supabaseUrl: string | undefined,
  problems: string[],
): Transport | undefined {
  if (requested === 'postgres' && !databaseUrl) problems.push('DATABASE_URL: required with TRANSPORT=postgres');
  if (requested === 'supabase' && !supabaseUrl) problems.push('SUPABASE_URL: required with TRANSPORT=supabase');
  if (requested !== 'auto') return requested as Transport;
  if (databaseUrl && supabaseUrl) {
    problems.push('TRANSPORT: both DATABASE_URL and SUPABASE_URL are set; set TRANSPORT=postgres or TRANSPORT=supabase');
    return undefined;
  }
  if (supabaseUrl) return 'supabase';
  if (databaseUrl) return 'postgres';
  return 'embedded';
}
