import { parseArgs } from 'node:util';
import type { QueueClient } from '../queue/client.js';
import { UsageError, parseDuration, usage } from './args.js';
import { FILTER_OPTIONS, filterFromOptions } from './lookups.js';

export const RETRY_HELP = 'supajobs retry <job-id> | supajobs retry --failed [--queue Q] [--task T] [--group G] [--since 1h] [--status cancelled]';
export const CANCEL_HELP = 'supajobs cancel <job-id> | supajobs cancel --all [--queue Q] [--task T] [--group G] [--since 1h] [--status processing]';
export const PURGE_HELP = 'supajobs purge --older-than 7d [--include-failed]';
export const HISTORY_HELP = 'supajobs history [full|lean]          the history level of every writer: show it, or set it';

export async function retryCommand(args: string[], client: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: { failed: { type: 'boolean' }, ...FILTER_OPTIONS }, allowPositionals: true }));
  if (values.failed) {
    const filter = filterFromOptions(values);
    process.stdout.write(`${await client.retryJobs(filter)} ${filter.status ?? 'failed'} jobs queued again\n`);
    return;
  }
  const [id] = positionals;
  if (!id) throw new UsageError('a job id or --failed is required');
  if (!(await client.retry(id))) throw new Error(`job ${id} is not failed or cancelled (or does not exist)`);
  process.stdout.write(`job ${id} queued again\n`);
}

export async function cancelCommand(args: string[], client: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: { all: { type: 'boolean' }, ...FILTER_OPTIONS }, allowPositionals: true }));
  if (values.all) {
    const filter = filterFromOptions(values);
    process.stdout.write(`${await client.cancelJobs(filter)} ${filter.status ?? 'pending'} jobs cancelled\n`);
    return;
  }
  const [id] = positionals;
  if (!id) throw new UsageError('a job id or --all is required');
  if (!(await client.cancel(id))) throw new Error(`job ${id} is not pending or processing (or does not exist)`);
  process.stdout.write(`job ${id} cancelled\n`);
}

/** Purges in batches of RETENTION_BATCH_SIZE, RETENTION_BATCH_PAUSE_MS apart (batching from the config). */
export async function purgeCommand(args: string[], client: QueueClient, batching: { batchSize: number; pauseMs: number }): Promise<void> {
  const { values } = usage(() => parseArgs({ args, options: { 'older-than': { type: 'string' }, 'include-failed': { type: 'boolean' } }, allowPositionals: true }));
  if (!values['older-than']) throw new UsageError('--older-than is required (e.g. 7d)');
  const statuses: ('completed' | 'cancelled' | 'failed')[] = ['completed', 'cancelled'];
  if (values['include-failed']) statuses.push('failed');
  const purged = await client.purge(parseDuration(values['older-than']), statuses, batching);
  process.stdout.write(`${purged} jobs purged\n`);
}

/** Shows the history level, or sets it (full: every change; lean: no rows for routine enqueue, claim, completion). */
export async function historyCommand(args: string[], client: QueueClient): Promise<void> {
  const { positionals } = usage(() => parseArgs({ args, options: {}, allowPositionals: true }));
  const [level, extra] = positionals;
  if (extra !== undefined || (level !== undefined && level !== 'full' && level !== 'lean')) throw new UsageError('history takes full or lean, or nothing to show the level');
  const now = level === undefined ? await client.historyLevel() : await client.setHistoryLevel(level);
  process.stdout.write(`history level: ${now}\n`);
}
