import { parseArgs } from 'node:util';
import type { QueueClient } from '../queue/client.js';
import type { Job } from '../job.js';
import type { JobFilter } from '../queue/lookups.js';
import { UsageError, parseDuration, parseInteger, usage } from './args.js';

export const SHOW_HELP = 'supajobs show <job-id> [--json]';
export const LIST_HELP = 'supajobs list [--status pending|processing|completed|failed|cancelled|waiting] [--queue Q] [--task T] [--group G] [--since 1h] [--limit N] [--after CURSOR] [--json]';
export const WAIT_HELP = 'supajobs wait <job-id> [--timeout 60s]   exit 0 completed, 1 failed/cancelled, 3 timed out';

/** The filter options shared by list, retry and cancel. */
export const FILTER_OPTIONS = {
  status: { type: 'string' },
  queue: { type: 'string' },
  task: { type: 'string' },
  group: { type: 'string' },
  since: { type: 'string' },
} as const;

export function filterFromOptions(values: { status?: string; queue?: string; task?: string; group?: string; since?: string }): JobFilter {
  const statuses = ['pending', 'processing', 'completed', 'failed', 'cancelled', 'waiting'];
  if (values.status !== undefined && !statuses.includes(values.status)) throw new UsageError(`--status must be one of ${statuses.join(', ')}`);
  return {
    status: values.status as JobFilter['status'],
    queue: values.queue,
    task: values.task,
    group: values.group,
    createdAfter: values.since === undefined ? undefined : new Date(Date.now() - parseDuration(values.since) * 1000),
  };
}

export async function showCommand(args: string[], client: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true }));
  const [id] = positionals;
  if (!id) throw new UsageError('a job id is required');
  const detail = await client.getJob(id);
  if (!detail) throw new Error(`job ${id} does not exist`);
  if (values.json) return void process.stdout.write(`${JSON.stringify(detail)}\n`);
  const { job, events } = detail;
  const lines = [
    ['id', job.id], ['task', job.task], ['queue', job.queue], ['group', job.groupKey ?? '-'], ['status', job.status],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`], ['priority', String(job.priority)], ['stage', job.stage ?? '-'],
    ['created', job.createdAt.toISOString()], ['run at', job.runAt.toISOString()],
    ['error', job.errorCode ? `${job.errorCode}: ${job.lastError ?? ''}` : '-'],
    ['payload', JSON.stringify(job.payload)], ['progress', JSON.stringify(job.progress)], ['result', JSON.stringify(job.result)],
  ];
  process.stdout.write(lines.map(([k, v]) => `${k?.padEnd(9)} ${v}`).join('\n') + '\n\nhistory\n');
  for (const e of events) {
    const why = e.errorCode ? `  ${e.errorCode}: ${e.message ?? ''}` : '';
    process.stdout.write(`  ${e.createdAt.toISOString()}  ${e.event.padEnd(10)} attempt ${e.attempt}  ${e.workerId ?? e.actor}${why}\n`);
  }
}

export async function listCommand(args: string[], client: QueueClient): Promise<void> {
  const { values } = usage(() =>
    parseArgs({ args, options: { ...FILTER_OPTIONS, limit: { type: 'string' }, after: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: false }),
  );
  const page = await client.listJobs(filterFromOptions(values), { after: values.after, limit: parseInteger(values.limit, 'limit') ?? 50 });
  if (values.json) return void process.stdout.write(`${JSON.stringify(page)}\n`);
  process.stdout.write(formatJobTable(page.jobs) + '\n');
  if (page.nextCursor) process.stdout.write(`more: --after ${page.nextCursor}\n`);
}

export async function waitCommand(args: string[], client: QueueClient): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({ args, options: { timeout: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true }));
  const [id] = positionals;
  if (!id) throw new UsageError('a job id is required');
  const timeoutMs = parseDuration(values.timeout ?? '60s') * 1000;
  try {
    const job = await client.waitForJob(id, { timeoutMs });
    process.stdout.write(values.json ? `${JSON.stringify(job)}\n` : `job ${id} ${job.status}${job.errorCode ? ` (${job.errorCode}: ${job.lastError ?? ''})` : ''}\n`);
    return job.status === 'completed' ? 0 : 1;
  } catch (error) {
    if ((error as { code?: string }).code !== 'WAIT_TIMEOUT') throw error;
    process.stderr.write(`${(error as Error).message}\n`);
    return 3;
  }
}

function formatJobTable(jobs: Job[]): string {
  const rows = [['id', 'task', 'queue', 'group', 'status', 'attempts', 'created', 'error']];
  for (const j of jobs) {
    rows.push([j.id, j.task, j.queue, j.groupKey ?? '-', j.status, `${j.attempts}/${j.maxAttempts}`, j.createdAt.toISOString(), j.errorCode ?? '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
