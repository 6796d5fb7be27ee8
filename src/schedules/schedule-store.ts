import type { Driver } from '../drivers/driver.js';
import { scheduleArguments, scheduleFromRow, type Schedule, type ScheduleInput } from './schedule.js';

/** A fired tick: the job it became. */
export interface FiredTick {
  tick: Date;
  jobId: string;
}

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));

/** The schedule functions of the SQL contract (20261201000510_schedules.sql), over any driver. */
export class ScheduleStore {
  readonly #driver: Driver;

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  /** Creates or replaces the schedule of input.name. */
  async schedule(input: ScheduleInput): Promise<Schedule> {
    const [row] = await this.#driver.callRows('schedule_job', scheduleArguments(input));
    return scheduleFromRow(row as Record<string, unknown>);
  }

  /** Removes a schedule; false when there was none of that name. */
  async unschedule(name: string): Promise<boolean> {
    return (await this.#driver.callRows('unschedule_job', { name })).length > 0;
  }

  /** Turns a schedule on or off; null when there is none of that name. */
  async setEnabled(name: string, enabled: boolean): Promise<Schedule | null> {
    const [row] = await this.#driver.callRows('set_schedule_enabled', { name, enabled });
    return row ? scheduleFromRow(row) : null;
  }

  /** Every schedule, with the database's clock at the time of reading. */
  async list(): Promise<{ schedules: Schedule[]; databaseNow: Date | null }> {
    const rows = await this.#driver.callRows('get_job_schedules', {});
    return { schedules: rows.map(scheduleFromRow), databaseNow: rows[0] ? date(rows[0].checked_at) : null };
  }

  /** Upserts a worker's declared schedules and removes those it no longer declares. */
  async sync(declared: ScheduleInput[]): Promise<Schedule[]> {
    const rows = await this.#driver.callRows('sync_job_schedules', { schedules: declared.map(scheduleArguments) });
    return rows.map(scheduleFromRow);
  }

  /** Enqueues the due ticks not yet handled (exactly once across workers); see fire_schedule. */
  async fire(name: string, ticks: Date[], skipThrough: Date | null): Promise<FiredTick[]> {
    const rows = await this.#driver.callRows('fire_schedule', { name, ticks, skip_through: skipThrough });
    return rows.map((r) => ({ tick: date(r.tick), jobId: r.job_id as string }));
  }
}
