import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueClient } from '../queue/client.js';
import type { QueueStats } from '../job.js';
import { summarize } from '../queue/monitor.js';
import { usage } from './args.js';
import { formatQueueControls } from './queues.js';
import { formatSchedules } from './schedules.js';

export const STATS_HELP = 'supajobs stats [--watch] [--interval SECONDS] [--json]';

export async function statsCommand(args: string[], queue: QueueClient): Promise<void> {
  const { values } = usage(() => parseArgs({ args, options: { watch: { type: 'boolean' }, interval: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true }));
  const intervalMs = Math.max(0.2, Number(values.interval ?? 2)) * 1000;
  const stopped = new AbortController();
  if (values.watch) process.once('SIGINT', () => stopped.abort());
  do {
    if (values.json) process.stdout.write(`${JSON.stringify(await queue.stats())}\n`);
    else process.stdout.write(`${values.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${await statsText(queue)}\n`);
    if (values.watch) await sleep(intervalMs, undefined, { signal: stopped.signal }).catch(() => undefined);
  } while (values.watch && !stopped.signal.aborted);
}

/** The queue table, then queue controls and schedules when there are any. */
async function statsText(queue: QueueClient): Promise<string> {
  const [stats, controls, { schedules }] = await Promise.all([queue.stats(), queue.queueControls.list(), queue.schedules.list()]);
  const sections = [formatStatsTable(stats)];
  if (controls.length) sections.push(formatQueueControls(controls));
  if (schedules.length) sections.push(formatSchedules(schedules));
  return sections.join('\n\n');
}

export function formatStatsTable(stats: QueueStats[]): string {
  const header = ['queue', 'pending', 'scheduled', 'waiting', 'processing', 'completed', 'failed', 'cancelled', 'oldest', 'success'];
  const row = (name: string, s: ReturnType<typeof summarize> | QueueStats) => [
    name,
    String(s.pending),
    String(s.scheduled),
    String(s.waiting),
    String(s.processing),
    String(s.completed),
    String(s.failed),
    String(s.cancelled),
    s.oldestPendingAgeSeconds === null ? '-' : `${s.oldestPendingAgeSeconds.toFixed(1)}s`,
    s.successRate === null ? '-' : `${(s.successRate * 100).toFixed(1)}%`,
  ];
  const rows = [header, ...stats.map((s) => row(s.queue, s)), row('(all)', summarize(stats))];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ')).join('\n');
}
