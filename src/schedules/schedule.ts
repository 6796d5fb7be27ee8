/** What happens to ticks missed while no worker ran (older than the catch-up window). */
export type MissedTicks = 'run_latest' | 'skip';

/** A recurring job as schedule_job takes it; only name, cron and task are required. */
export interface ScheduleInput {
  /** Unique; scheduling a name again replaces that schedule. */
  name: string;
  /** Five fields (minute hour day-of-month month day-of-week), or six with leading seconds. */
  cron: string;
  task: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  /** IANA time zone the cron is read in, daylight saving included (default UTC). */
  timezone?: string;
  /** Default true. A worker's declared schedule keeps the switch an operator set. */
  enabled?: boolean;
  /** Default 'run_latest': the most recent missed tick runs once; 'skip': missed ticks never run. */
  missed?: MissedTicks;
}

/** A row of public.job_schedules. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  payload: unknown;
  queue: string;
  priority: number;
  maxAttempts: number;
  enabled: boolean;
  missed: MissedTicks;
  /** 'sql': made by schedule_job (CLI, psql); 'worker': declared in a worker's code. */
  origin: 'sql' | 'worker';
  /** Ticks up to the later of since and lastTick are done. */
  since: Date;
  /** The latest tick enqueued or passed over. */
  lastTick: Date | null;
  lastJobId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type Row = Record<string, unknown>;

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
const maybeDate = (value: unknown): Date | null => (value == null ? null : date(value));

export function scheduleFromRow(row: Row): Schedule {
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    task: row.task as string,
    payload: row.payload,
    queue: row.queue as string,
    priority: row.priority as number,
    maxAttempts: row.max_attempts as number,
    enabled: row.enabled as boolean,
    missed: row.missed as MissedTicks,
    origin: row.origin as 'sql' | 'worker',
    since: date(row.since),
    lastTick: maybeDate(row.last_tick),
    lastJobId: (row.last_job_id as string | null) ?? null,
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

/** schedule_job's named arguments (absent ones keep the SQL defaults). */
export function scheduleArguments(input: ScheduleInput): Record<string, unknown> {
  const args: Record<string, unknown> = {
    name: input.name,
    cron: input.cron,
    task: input.task,
    payload: input.payload ?? {},
    queue: input.queue,
    priority: input.priority,
    max_attempts: input.maxAttempts,
    timezone: input.timezone,
    enabled: input.enabled,
    missed: input.missed,
  };
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}
