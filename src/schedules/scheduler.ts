import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { CronSchedule } from './cron.js';
import { dueTicks } from './due-ticks.js';
import type { Schedule, ScheduleInput } from './schedule.js';
import { ScheduleStore } from './schedule-store.js';

export interface SchedulerOptions {
  driver: Driver;
  logger: Logger;
  metrics?: WorkerMetrics;
  catchUpMs: number;
  syncIntervalMs: number;
  /** Schedules declared in code: synced into public.job_schedules at start (undefined: none). */
  declared?: ScheduleInput[];
}

/** Fire a tick this long after it is due by our estimate of the database's clock. */
const TICK_MARGIN_MS = 5;
/** After a failed pass, try again this soon. */
const RETRY_MS = 1_000;

/**
 * Fires the ticks of public.job_schedules from this worker. Every worker may run one: fire_schedule
 * makes each tick one job however many fire it. Reads the table each pass (so schedules made
 * anywhere apply within syncIntervalMs), computes due ticks on the database's clock, and sleeps
 * until the next tick of any schedule.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #store: ScheduleStore;
  readonly #cronCache = new Map<string, CronSchedule | Error>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#store = new ScheduleStore(options.driver);
  }

  /** Writes the declared schedules into the table, if any were declared; rejects if one is invalid. */
  async sync(): Promise<void> {
    const { declared, logger } = this.#options;
    if (!declared) return;
    for (const s of declared) new CronSchedule(s.cron, s.timezone);
    const synced = await this.#store.sync(declared);
    logger.info({ schedules: synced.map((s) => s.name) }, 'declared schedules synced');
  }

  /** Starts firing ticks (the first pass at once). */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass now: fires what is due. Resolves when done (also used by tests). */
  pass(): Promise<void> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.pass(), delayMs);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    const { logger, catchUpMs, syncIntervalMs, metrics } = this.#options;
    let nextInMs = syncIntervalMs;
    try {
      const { schedules, databaseNow } = await this.#store.list();
      // The database's clock, as of now: its reading plus the time since. Taken as read when the
      // answer came, so the estimate lags rather than leads (fire_schedule refuses future ticks).
      const offsetMs = databaseNow ? databaseNow.getTime() - Date.now() : 0;
      const now = () => new Date(Date.now() + offsetMs);
      metrics?.scheduleEnabled.reset();
      metrics?.scheduleLastTick.reset();
      for (const schedule of schedules) {
        metrics?.scheduleEnabled.set({ schedule: schedule.name }, schedule.enabled ? 1 : 0);
        if (schedule.lastTick) metrics?.scheduleLastTick.set({ schedule: schedule.name }, schedule.lastTick.getTime() / 1000);
        if (!schedule.enabled || this.#stopped) continue;
        const cron = this.#cron(schedule);
        if (!cron) continue;
        const doneThrough = new Date(Math.max(schedule.since.getTime(), schedule.lastTick?.getTime() ?? 0));
        const due = dueTicks(cron, doneThrough, now(), catchUpMs, schedule.missed);
        if (due.ticks.length > 0 || due.skipThrough) {
          const fired = await this.#store.fire(schedule.name, due.ticks, due.skipThrough);
          for (const f of fired) logger.info({ schedule: schedule.name, tick: f.tick.toISOString(), jobId: f.jobId }, 'schedule tick enqueued');
          if (fired.length) metrics?.scheduleTicks.inc({ schedule: schedule.name }, fired.length);
          if (due.skipThrough) logger.info({ schedule: schedule.name, through: due.skipThrough.toISOString() }, 'missed schedule ticks passed over');
        }
        const next = cron.next(due.ticks.at(-1) ?? now());
        if (next) nextInMs = Math.min(nextInMs, Math.max(0, next.getTime() - now().getTime()) + TICK_MARGIN_MS);
      }
    } catch (error) {
      logger.warn({ err: error }, 'firing schedules failed; trying again');
      nextInMs = Math.min(nextInMs, RETRY_MS);
    }
    this.#schedule(nextInMs);
  }

  /** The schedule's cron, parsed once per expression; an unreadable one is logged once and skipped. */
  #cron(schedule: Schedule): CronSchedule | undefined {
    const key = `${schedule.cron}\u0000${schedule.timezone}`;
    let cron = this.#cronCache.get(key);
    if (!cron) {
      try {
        cron = new CronSchedule(schedule.cron, schedule.timezone);
      } catch (error) {
        cron = error as Error;
        this.#options.logger.error({ schedule: schedule.name, code: 'INVALID_SCHEDULE', err: error }, 'schedule cannot be read; skipped');
      }
      this.#cronCache.set(key, cron);
    }
    return cron instanceof Error ? undefined : cron;
  }
}
