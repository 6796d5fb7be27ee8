/**
 * One worker process of a chaos run: the real CLI (`node --import tsx src/cli/main.ts start`),
 * its JSON log lines parsed as they arrive (and written to a log file), its health port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHAOS_TASKS_DIR = path.join(PROJECT_DIR, 'chaos', 'tasks');

export type LogLine = Record<string, unknown> & { msg?: string; level?: number; time?: number };

export class ChaosWorker {
  readonly id: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  readonly startedAt = Date.now();
  /** Log lines kept for the report: warnings and above, and the lines a scenario asks about. */
  readonly lines: LogLine[] = [];
  /** Set when the harness signalled it: any other exit is the worker's own doing. */
  signalled: NodeJS.Signals | undefined;
  #exit: number | string | undefined;
  #partial = '';
  readonly #log: WriteStream;
  readonly #keep: (line: LogLine) => boolean;

  constructor(options: { id: string; port: number; env: Record<string, string>; logFile: string; keep?: (line: LogLine) => boolean }) {
    this.id = options.id;
    this.port = options.port;
    this.#keep = options.keep ?? (() => false);
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_DIR, 'src', 'cli', 'main.ts'), 'start'], {
      cwd: PROJECT_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        WORKER_ID: options.id,
        HEALTH_CHECK_HOST: '127.0.0.1',
        HEALTH_CHECK_PORT: String(options.port),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.#onOutput(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.#onOutput(chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.#exit = code ?? signal ?? 'unknown';
        this.#log.end();
        resolve(this.#exit);
      }),
    );
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  get exitStatus(): number | string | undefined {
    return this.#exit;
  }

  #onOutput(chunk: Buffer): void {
    this.#log.write(chunk);
    const text = this.#partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      if ((line.level ?? 0) >= 40 || this.#keep(line)) this.lines.push(line);
    }
  }

  /** Waits for a kept log line that matches; rejects on exit or after timeoutMs. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (!this.alive) throw new Error(`worker ${this.id} exited (${this.#exit}) before the expected log line`);
      if (Date.now() > deadline) throw new Error(`worker ${this.id}: expected log line not seen in ${timeoutMs} ms`);
      await sleep(25);
    }
  }

  /** GET a health endpoint; status 0 when it does not answer within timeoutMs. */
  async get(pathname: string, timeoutMs = 2_500): Promise<{ status: number; body: string }> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}${pathname}`, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: await response.text() };
    } catch {
      return { status: 0, body: '' };
    }
  }

  /** Sends a signal; resolves with the exit status (SIGKILL after killAfterMs). */
  async stop(signal: NodeJS.Signals, killAfterMs = 20_000): Promise<number | string> {
    if (!this.alive) return this.#exit as number | string;
    this.signalled ??= signal;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
