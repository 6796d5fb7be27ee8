import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { EnqueueInput } from '../job.js';
import type { QueueClient } from '../queue/client.js';
import { UsageError, parseInteger, usage } from './args.js';

export const ENQUEUE_HELP = `supajobs enqueue <task> [payload-json] [--queue Q] [--priority N] [--run-at ISO] [--key K] [--group G] [--max-attempts N] [--traceparent TP]
supajobs enqueue --file jobs.ndjson     one job object per line: {"task": "...", "payload": {...}, "queue": ...}`;

const FILE_CHUNK = 1_000;

export async function enqueueCommand(args: string[], queue: QueueClient): Promise<void> {
  const { values, positionals } = usage(() => parseArgs({ args, options: {
    queue: { type: 'string' },
    priority: { type: 'string' },
    'run-at': { type: 'string' },
    key: { type: 'string' },
    group: { type: 'string' },
    'max-attempts': { type: 'string' },
    traceparent: { type: 'string' },
    file: { type: 'string' },
  }, allowPositionals: true }));
  if (values.file) return enqueueFile(values.file, queue);
  const [task, payloadText] = positionals;
  if (!task) throw new UsageError('a task name is required');
  let payload: unknown = {};
  if (payloadText !== undefined) {
    try {
      payload = JSON.parse(payloadText);
    } catch (error) {
      throw new UsageError(`the payload is not valid JSON: ${(error as Error).message}`);
    }
  }
  const runAt = values['run-at'];
  if (runAt !== undefined && Number.isNaN(Date.parse(runAt))) throw new UsageError(`--run-at "${runAt}" is not a date`);
  const input: EnqueueInput = {
    task,
    payload,
    queue: values.queue,
    priority: parseInteger(values.priority, 'priority'),
    runAt,
    jobKey: values.key,
    groupKey: values.group,
    maxAttempts: parseInteger(values['max-attempts'], 'max-attempts'),
    // A trace to join (e.g. a CI pipeline's); TRACEPARENT is the environment's convention for it.
    traceparent: values.traceparent ?? process.env.TRACEPARENT,
  };
  process.stdout.write(`${await queue.enqueue(input)}\n`);
}

/** Reads NDJSON in chunks of FILE_CHUNK jobs, one enqueue_jobs call per chunk, with a progress bar on a terminal. */
async function enqueueFile(file: string, queue: QueueClient): Promise<void> {
  const progress = new ProgressLine((await stat(file)).size);
  // No await between here and the loop: readline's iterator attaches on first use, and lines
  // emitted before that are lost (a small file would be read whole, and the command end early).
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let chunk: EnqueueInput[] = [];
  let lineNumber = 0;
  let total = 0;
  let bytesRead = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    await queue.enqueueMany(chunk);
    total += chunk.length;
    chunk = [];
    progress.update(total, bytesRead);
  };
  for await (const line of lines) {
    lineNumber++;
    bytesRead += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    let input: EnqueueInput;
    try {
      input = JSON.parse(line) as EnqueueInput;
    } catch (error) {
      throw new UsageError(`${file}:${lineNumber}: invalid JSON: ${(error as Error).message} (${total} jobs enqueued before it)`);
    }
    try {
      queue.check(input);
    } catch (error) {
      throw new UsageError(`${file}:${lineNumber}: ${(error as Error).message.replace(/^job: /, '')} (${total} jobs enqueued before it)`);
    }
    chunk.push(input);
    if (chunk.length >= FILE_CHUNK) await flush();
  }
  await flush();
  progress.done(total);
}

/** A progress bar on stderr (share of the file read): redrawn in place on a terminal, one line at the end otherwise. */
class ProgressLine {
  readonly #tty = process.stderr.isTTY === true;
  readonly #started = Date.now();
  readonly #fileBytes: number;

  constructor(fileBytes: number) {
    this.#fileBytes = Math.max(1, fileBytes);
  }

  update(total: number, bytesRead: number): void {
    if (!this.#tty) return;
    const share = Math.min(1, bytesRead / this.#fileBytes);
    const perSecond = Math.round(total / Math.max(0.001, (Date.now() - this.#started) / 1000));
    const bar = '#'.repeat(Math.round(share * 30)).padEnd(30, '.');
    process.stderr.write(`\r[${bar}] ${Math.round(share * 100)}% ${total} jobs (${perSecond}/s)`);
  }

  done(total: number): void {
    if (this.#tty) process.stderr.write('\n');
    process.stderr.write(`enqueued ${total} jobs in ${((Date.now() - this.#started) / 1000).toFixed(2)} s\n`);
  }
}
