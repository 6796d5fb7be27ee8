import { Cron } from 'croner';
import { DatabaseError } from '../errors.js';

/** At most this many ticks are enqueued per schedule and call (the next pass takes the rest). */
export const MAX_TICKS_PER_FIRE = 1000;

/**
 * A cron expression read by croner: five fields, or six with leading seconds, in an IANA time
 * zone with its daylight-saving rules. A wall-clock time that a spring-forward gap skips runs at
 * the first moment after the gap; one that a fall-back overlap repeats runs once, at the first.
 * Day-of-month and day-of-week both restricted: either matches (as in Vixie cron).
 */
export class CronSchedule {
  readonly #cron: Cron;

  constructor(expression: string, timezone = 'UTC') {
    try {
      this.#cron = new Cron(expression.trim(), { timezone, mode: '5-or-6-parts', paused: true });
      // An unknown time zone shows only when a date is computed.
      this.#cron.nextRun(new Date(0));
    } catch (error) {
      throw new DatabaseError(`cron "${expression}" in ${timezone}: ${(error as Error).message}`, { sqlState: '22023', transient: false, cause: error });
    }
  }

  /** The first tick strictly after `after`, or null when there is none. */
  next(after: Date): Date | null {
    return this.#cron.nextRun(after);
  }

  /** The latest tick at or before `at`, or null when there is none. */
  previous(at: Date): Date | null {
    const [tick] = this.#cron.previousRuns(1, new Date(at.getTime() + 1));
    return tick && tick.getTime() <= at.getTime() ? tick : null;
  }

  /** Ticks in (after, until], oldest first, at most `limit`. */
  between(after: Date, until: Date, limit = MAX_TICKS_PER_FIRE): Date[] {
    const ticks: Date[] = [];
    for (let tick = this.next(after); tick && tick.getTime() <= until.getTime() && ticks.length < limit; tick = this.next(tick)) {
      ticks.push(tick);
    }
    return ticks;
  }
}
