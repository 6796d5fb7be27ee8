import { parseArgs } from 'node:util';
import type { QueueClient } from '../queue/client.js';
import type { QueueControl } from '../queue/queue-controls.js';
import { UsageError, usage } from './args.js';
import { formatTable } from './table.js';

export const QUEUES_HELP = `supajobs queues [list] [--json]
supajobs queues pause|resume <queue>
supajobs queues limit <queue> [--max-running N|none] [--max-per-second N|none]`;

export async function queuesCommand(args: string[], client: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: {
    json: { type: 'boolean' },
    'max-running': { type: 'string' },
    'max-per-second': { type: 'string' },
  }, allowPositionals: true }));
  const controls = client.queueControls;
  const [action = 'list', queue] = positionals;
  if (action === 'list') {
    const list = await controls.list();
    process.stdout.write(values.json ? `${JSON.stringify(list)}\n` : `${formatQueueControls(list)}\n`);
    return;
  }
  if (!queue) throw new UsageError(`queues ${action} needs a queue name`);
  if (action === 'pause') {
    await controls.pause(queue);
    process.stdout.write(`queue ${queue} paused\n`);
  } else if (action === 'resume') {
    await controls.resume(queue);
    process.stdout.write(`queue ${queue} resumed\n`);
  } else if (action === 'limit') {
    const maxRunning = limit(values['max-running'], 'max-running');
    const maxPerSecond = limit(values['max-per-second'], 'max-per-second');
    await controls.setLimits(queue, { maxRunning, maxPerSecond });
    process.stdout.write(`queue ${queue}: max running ${maxRunning ?? 'unlimited'}, max per second ${maxPerSecond ?? 'unlimited'}\n`);
  } else {
    throw new UsageError(`unknown queues action "${action}" (list, pause, resume, limit)`);
  }
}

/** A limit flag: a whole number, or "none" (absent: none). */
function limit(text: string | undefined, name: string): number | null {
  if (text === undefined || text === 'none') return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a whole number or none`);
  return value;
}

export function formatQueueControls(controls: QueueControl[]): string {
  if (controls.length === 0) return 'no queue controls';
  const rows = controls.map((c) => [
    c.queue,
    c.paused ? 'paused' : 'running',
    c.maxRunning === null ? '-' : `${c.processing}/${c.maxRunning}`,
    c.maxPerSecond === null ? '-' : `${c.startedLastSecond}/${c.maxPerSecond}`,
  ]);
  return formatTable(['queue', 'state', 'running/max', 'started last s/max per s'], rows);
}
