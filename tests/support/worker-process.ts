import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './test-server.js';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_TASKS_DIR = path.join(PROJECT_DIR, 'tests', 'fixtures', 'tasks');

/** Runs the real CLI (`supajobs <args>`) from source, as a child process. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawnScript(path.join(PROJECT_DIR, 'src', 'cli', 'main.ts'), args, env);
}

/** Runs a TypeScript program (the CLI, an example's worker; a path from the project's folder) under tsx from the project's folder, so 'supajobs' resolves to src/. */
export function spawnScript(script: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.resolve(PROJECT_DIR, script), ...args], {
    cwd: PROJECT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a one-shot CLI command to its end. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runToEnd(spawnCli(args, env));
}

/** Runs a one-shot program (see spawnScript) to its end. */
export function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runToEnd(spawnScript(script, args, env));
}

async function runToEnd(child: ChildProcess): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c) => (stdout += c));
  child.stderr?.on('data', (c) => (stderr += c));
  // 'close', not 'exit': every byte of its output has been read.
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

/**
 * A worker process (`supajobs start`) with its log lines and health port. start() waits for
 * 'worker started'; spawn() does not (a worker that starts without a database, or under faults).
 */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number>;
  #out = '';
  #exitCode: number | undefined;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    child.stdout?.on('data', (c) => (this.#out += c));
    child.stderr?.on('data', (c) => (this.#out += c));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => resolve((this.#exitCode = code ?? (signal ? 128 : 1)))),
    );
  }

  /** `supajobs start`, or a program of its own that starts a worker (an example's worker.ts). */
  static async spawn(env: Record<string, string>, script?: string): Promise<WorkerProcess> {
    const port = await freePort();
    const workerEnv = { HEALTH_CHECK_PORT: String(port), HEALTH_CHECK_HOST: '127.0.0.1', ...env };
    return new WorkerProcess(script ? spawnScript(script, [], workerEnv) : spawnCli(['start'], workerEnv), port);
  }

  static async start(env: Record<string, string>, script?: string): Promise<WorkerProcess> {
    const worker = await WorkerProcess.spawn(env, script);
    // Generous: tsx compiles the sources on a cold start, slow on a loaded machine.
    await worker.waitForLog((line) => line.msg === 'worker started', 60_000);
    return worker;
  }

  get output(): string {
    return this.#out;
  }

  lines(): Record<string, unknown>[] {
    return jsonLines(this.#out);
  }

  async waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
      const found = this.lines().find(match);
      if (found) return found;
      if (this.#exitCode !== undefined) throw new Error(`worker exited (${this.#exitCode}) before the expected log line:\n${this.#out.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`expected log line not seen in time:\n${this.#out.slice(-4000)}`);
    }
  }

  async get(pathname: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${pathname}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  }

  /** Sends a signal (unless it has exited) and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (this.#exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }
}

/** The JSON log lines of a process's output (other lines skipped). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
