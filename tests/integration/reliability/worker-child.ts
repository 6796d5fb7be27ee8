/**
 * A `supajobs start` child process that is not waited on until it says 'worker started' (unlike
 * tests/support's WorkerProcess): for workers that start without a database, or under faults.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../support/test-server.js';
import { spawnCli } from '../../support/worker-process.js';

export class WorkerChild {
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

  static async spawn(env: Record<string, string>): Promise<WorkerChild> {
    const port = await freePort();
    return new WorkerChild(spawnCli(['start'], { HEALTH_CHECK_PORT: String(port), HEALTH_CHECK_HOST: '127.0.0.1', ...env }), port);
  }

  get output(): string {
    return this.#out;
  }

  lines(): Record<string, unknown>[] {
    return this.#out
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

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (this.#exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }
}
