import { parseArgs } from 'node:util';
import type { QueueClient } from '../queue/client.js';
import { UsageError, parseDuration, usage } from './args.js';

export const RETRY_HELP = 'supajobs retry <job-id> | supajobs retry --failed [--queue Q]';
export const CANCEL_HELP = 'supajobs cancel <job-id>';
export const PURGE_HELP = 'supajobs purge --older-than 7d [--include-failed]';

export async function retryCommand(args: string[], queue: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: { failed: { type: 'boolean' }, queue: { type: 'string' } }, allowPositionals: true }));
  if (values.failed) {
    process.stdout.write(`${await queue.retryFailed(values.queue)} failed jobs queued again\n`);
    return;
  }
  const [id] = positionals;
  if (!id) throw new UsageError('a job id or --failed is required');
  if (!(await queue.retry(id))) throw new Error(`job ${id} is not failed or cancelled (or does not exist)`);
  process.stdout.write(`job ${id} queued again\n`);
}

export async function cancelCommand(args: string[], queue: QueueClient): Promise<void> {
  const { positionals } = usage(() => parseArgs({ args, options: {}, allowPositionals: true }));
  const [id] = positionals;
  if (!id) throw new UsageError('a job id is required');
  if (!(await queue.cancel(id))) throw new Error(`job ${id} is not pending or processing (or does not exist)`);
  process.stdout.write(`job ${id} cancelled\n`);
}

export async function purgeCommand(args: string[], queue: QueueClient): Promise<void> {
  const { values } = usage(() => parseArgs({ args, options: { 'older-than': { type: 'string' }, 'include-failed': { type: 'boolean' } }, allowPositionals: true }));
  if (!values['older-than']) throw new UsageError('--older-than is required (e.g. 7d)');
  const statuses: ('completed' | 'cancelled' | 'failed')[] = ['completed', 'cancelled'];
  if (values['include-failed']) statuses.push('failed');
  const purged = await queue.purge(parseDuration(values['older-than']), statuses);
  process.stdout.write(`${purged} jobs purged\n`);
}
