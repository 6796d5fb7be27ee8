import type { Driver } from '../drivers/driver.js';

/** A queue's pause switch and limits, as pause_queue, resume_queue and set_queue_limits return them. */
export interface QueueSettings {
  queue: string;
  paused: boolean;
  /** At most this many of the queue's jobs processing at once; null: no limit. */
  maxRunning: number | null;
  /** At most this many started in any one-second span; null: no limit. */
  maxPerSecond: number | null;
  updatedAt: Date;
}

/** A row of get_queue_controls(): a queue's settings, fleet-wide, and how many of its jobs run now. */
export interface QueueControl extends QueueSettings {
  processing: number;
  startedLastSecond: number;
}

type Row = Record<string, unknown>;

const count = (value: unknown): number => Number(value ?? 0);

function settingsFromRow(row: Row): QueueSettings {
  return {
    queue: row.queue as string,
    paused: row.paused as boolean,
    maxRunning: (row.max_running as number | null) ?? null,
    maxPerSecond: (row.max_per_second as number | null) ?? null,
    updatedAt: row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at as string),
  };
}

function controlFromRow(row: Row): QueueControl {
  return { ...settingsFromRow(row), processing: count(row.processing), startedLastSecond: count(row.started_last_second) };
}

const first = (rows: Row[]): QueueSettings | null => (rows[0] ? settingsFromRow(rows[0]) : null);

/** Pause, resume and limit queues (20261201000500_flow_control.sql), over any driver. */
export class QueueControls {
  readonly #driver: Driver;

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  /** Stops claims from the queue at once, on every worker; running jobs finish. */
  async pause(queue: string): Promise<QueueSettings> {
    return first(await this.#driver.callRows('pause_queue', { queue })) as QueueSettings;
  }

  /** Claims from the queue again; workers waiting on it hear at once. null: the queue had no controls. */
  async resume(queue: string): Promise<QueueSettings | null> {
    return first(await this.#driver.callRows('resume_queue', { queue }));
  }

  /** null lifts a limit. maxRunning 0 holds every job of the queue back (as a pause does). */
  async setLimits(queue: string, limits: { maxRunning?: number | null; maxPerSecond?: number | null }): Promise<QueueSettings> {
    const rows = await this.#driver.callRows('set_queue_limits', { queue, max_running: limits.maxRunning ?? null, max_per_second: limits.maxPerSecond ?? null });
    return first(rows) as QueueSettings;
  }

  /** Every queue with a pause switch or limits, with how many of its jobs run now. */
  async list(): Promise<QueueControl[]> {
    return (await this.#driver.callRows('get_queue_controls', {})).map(controlFromRow);
  }
}
