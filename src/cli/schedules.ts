import { parseArgs } from 'node:util';
import type { QueueClient } from '../queue/client.js';
import { CronSchedule } from '../schedules/cron.js';
import type { MissedTicks, Schedule } from '../schedules/schedule.js';
import { UsageError, parseInteger, usage } from './args.js';
import { formatTable } from './table.js';

export const SCHEDULES_HELP = `supajobs schedules [list] [--json]
supajobs schedules add <name> <cron> <task> [payload-json] [--queue Q] [--priority N] [--max-attempts N]
                 [--timezone Europe/Berlin] [--missed run_latest|skip] [--disabled]
supajobs schedules remove|enable|disable <name>`;

export async function schedulesCommand(args: string[], queue: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: {
    json: { type: 'boolean' },
    queue: { type: 'string' },
    priority: { type: 'string' },
    'max-attempts': { type: 'string' },
    timezone: { type: 'string' },
    missed: { type: 'string' },
    disabled: { type: 'boolean' },
  }, allowPositionals: true }));
  const store = queue.schedules;
  const [action = 'list', name, ...rest] = positionals;
  if (action === 'list') {
    const { schedules } = await store.list();
    process.stdout.write(values.json ? `${JSON.stringify(schedules)}\n` : `${formatSchedules(schedules)}\n`);
    return;
  }
  if (!name) throw new UsageError(`schedules ${action} needs a schedule name`);
  if (action === 'add') {
    const [cron, task, payloadText] = rest;
    if (!cron || !task) throw new UsageError('schedules add needs <name> <cron> <task>');
    if (values.missed !== undefined && values.missed !== 'run_latest' && values.missed !== 'skip') throw new UsageError('--missed must be run_latest or skip');
    new CronSchedule(cron, values.timezone);
    const schedule = await store.schedule({
      name,
      cron,
      task,
      payload: parsePayload(payloadText),
      queue: values.queue,
      priority: parseInteger(values.priority, 'priority'),
      maxAttempts: parseInteger(values['max-attempts'], 'max-attempts'),
      timezone: values.timezone,
      enabled: !values.disabled,
      missed: values.missed as MissedTicks | undefined,
    });
    const next = new CronSchedule(schedule.cron, schedule.timezone).next(new Date());
    process.stdout.write(`schedule ${schedule.name} saved; next tick ${next?.toISOString() ?? 'never'}\n`);
    return;
  }
  if (action === 'remove') {
    if (!(await store.unschedule(name))) throw new Error(`no schedule named ${name}`);
    process.stdout.write(`schedule ${name} removed\n`);
    return;
  }
  if (action === 'enable' || action === 'disable') {
    if (!(await store.setEnabled(name, action === 'enable'))) throw new Error(`no schedule named ${name}`);
    process.stdout.write(`schedule ${name} ${action}d\n`);
    return;
  }
  throw new UsageError(`unknown schedules action "${action}" (list, add, remove, enable, disable)`);
}

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the payload is not valid JSON: ${(error as Error).message}`);
  }
}

/** Name, cron, zone, task, queue, state, last and next tick. */
export function formatSchedules(schedules: Schedule[], now = new Date()): string {
  if (schedules.length === 0) return 'no schedules';
  const rows = schedules.map((s) => {
    let next = '-';
    try {
      next = s.enabled ? (new CronSchedule(s.cron, s.timezone).next(now)?.toISOString() ?? 'never') : '-';
    } catch {
      next = 'invalid cron';
    }
    return [s.name, s.cron, s.timezone, s.task, s.queue, s.enabled ? 'enabled' : 'disabled', s.lastTick?.toISOString() ?? '-', next];
  });
  return formatTable(['schedule', 'cron', 'timezone', 'task', 'queue', 'state', 'last tick', 'next tick'], rows);
}
