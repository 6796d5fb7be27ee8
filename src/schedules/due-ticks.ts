import type { CronSchedule } from './cron.js';
import type { MissedTicks } from './schedule.js';

export interface DueTicks {
  /** Ticks to enqueue, oldest first. */
  ticks: Date[];
  /** Missed ticks up to this one are passed over (recorded as done without a job), or null. */
  skipThrough: Date | null;
}

/**
 * Which ticks of a schedule to fire at `now`. Ticks after doneThrough (the later of the schedule's
 * since and last tick) and no older than catchUpMs are each enqueued: a worker that was busy or
 * briefly stalled catches up, so no tick is lost while some worker runs. Older ones were missed
 * while no worker ran: 'run_latest' enqueues the most recent of them once, unless a tick inside
 * the window runs anyway; 'skip' passes over them.
 */
export function dueTicks(cron: CronSchedule, doneThrough: Date, now: Date, catchUpMs: number, missed: MissedTicks): DueTicks {
  const windowStart = new Date(Math.max(doneThrough.getTime(), now.getTime() - catchUpMs));
  const ticks = cron.between(windowStart, now);
  let latestMissed: Date | null = null;
  if (windowStart.getTime() > doneThrough.getTime()) {
    const previous = cron.previous(windowStart);
    if (previous && previous.getTime() > doneThrough.getTime()) latestMissed = previous;
  }
  if (!latestMissed) return { ticks, skipThrough: null };
  if (missed === 'run_latest' && ticks.length === 0) return { ticks: [latestMissed], skipThrough: null };
  return { ticks, skipThrough: latestMissed };
}
