/** The harness's handle on one worker process (bench/worker-process.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { hrMs } from './clock.js';
import { OPTIONS_VARIABLE, type FromWorker, type ToWorker, type WorkerProcessOptions } from './protocol.js';

export interface Stopped {
  stopMs: number;
  maxRssKB: number;
  executed: number;
  unique: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a failure nobody waits for is not an unhandled rejection
  return { promise, resolve, reject };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class WorkerChild {
  /** hrMs() just before the process was spawned. */
  readonly spawnedAt: number;
  readonly #child: ChildProcess;
  readonly #ready = deferred<{ at: number; cpuMs: number }>();
  /** The latest count the process reported (see protocol.ts). */
  count: Extract<FromWorker, { type: 'count' }> | undefined;
  readonly #stopped = deferred<Stopped>();
  readonly #pickups = new Map<number, Deferred<number>>();
  #failure: Error | undefined;

  constructor(entry: string, options: WorkerProcessOptions, settings: { label: string; nodeArgs?: string[] }) {
    const env: NodeJS.ProcessEnv = { ...process.env, [OPTIONS_VARIABLE]: JSON.stringify(options) };
    // Nothing of the harness's own runtime (a TypeScript loader) nor a worker config from the shell.
    for (const name of ['NODE_OPTIONS', 'DATABASE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'TRANSPORT']) delete env[name];
    this.spawnedAt = hrMs();
    this.#child = spawn(process.execPath, [...(settings.nodeArgs ?? []), entry], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
    const prefix = `[${settings.label}] `;
    const forward = (chunk: Buffer) => {
      const text = chunk.toString('utf8').replace(/\n(?=.)/g, `\n${prefix}`);
      process.stderr.write(`${prefix}${text}${text.endsWith('\n') ? '' : '\n'}`);
    };
    this.#child.stdout?.on('data', forward);
    this.#child.stderr?.on('data', forward);
    this.#child.on('message', (message: FromWorker) => this.#onMessage(message));
    this.#child.on('error', (error) => this.#fail(error));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`worker process exited (${signal ?? code})`)));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** When the worker said it was ready (hrMs()), and the CPU time it had used by then. */
  ready(timeoutMs: number): Promise<{ at: number; cpuMs: number }> {
    return withTimeout(this.#ready.promise, timeoutMs, 'worker start');
  }

  /** Why the process failed (exited early, or reported an error), if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** hrMs() when the handler of probe `seq` started; ask before enqueueing the probe, and forget it after. */
  pickup(seq: number): Promise<number> {
    const waiting = deferred<number>();
    if (this.#failure) waiting.reject(this.#failure);
    this.#pickups.set(seq, waiting);
    return waiting.promise;
  }

  forgetPickup(seq: number): void {
    this.#pickups.delete(seq);
  }

  stop(timeoutMs: number): Promise<Stopped> {
    const message: ToWorker = { type: 'stop' };
    if (this.#child.connected) this.#child.send(message);
    return withTimeout(this.#stopped.promise, timeoutMs, 'worker stop');
  }

  /** Ends the process if it is still there (after a failure). */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        return this.#ready.resolve(message);
      case 'count':
        this.count = message;
        return;
      case 'pickup':
        return this.#pickups.get(message.seq)?.resolve(message.at);
      case 'stopped':
        return this.#stopped.resolve(message);
      case 'error':
        return this.#fail(new Error(`worker process: ${message.message}`));
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const d of [this.#ready, this.#stopped, ...this.#pickups.values()]) d.reject(this.#failure);
  }
}
