import { CronSchedule } from './cron.js';
import type { Schedule } from './schedule.js';

/**
 * When an enabled schedule fires next after `now`: null when it is disabled, when its cron has
 * no later tick, or when the cron cannot be read (the SQL check is looser than the parser).
 */
export function nextTick(schedule: Pick<Schedule, 'cron' | 'timezone' | 'enabled'>, now: Date): Date | null {
  if (!schedule.enabled) return null;
  try {
    return new CronSchedule(schedule.cron, schedule.timezone).next(now);
  } catch {
    return null;
  }
}
