/**
 * The worker processes of one scenario: started together, killed, stopped and replaced one by one,
 * and polled on /ready so the report can say when every live worker was ready again.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../tests/support/test-server.js';
import { ChaosWorker, type LogLine } from './worker-process.js';

/** Log lines every run keeps besides warnings and errors. */
const ALWAYS_KEPT = new Set(['worker started', 'released unfinished jobs', 'reclaimed jobs whose lease expired', 'claiming works again']);

export interface ReadinessRound {
  at: number;
  alive: number;
  ready: number;
}

export class WorkerFleet {
  readonly #env: Record<string, string>;
  readonly #logDir: string;
  readonly #prefix: string;
  readonly #keep: (line: LogLine) => boolean;
  /** Every worker ever started, the live ones and the dead. */
  readonly all: ChaosWorker[] = [];
  readonly readiness: ReadinessRound[] = [];
  #generation = 0;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(options: { env: Record<string, string>; logDir: string; prefix: string; keep?: (line: LogLine) => boolean }) {
    this.#env = options.env;
    this.#logDir = options.logDir;
    this.#prefix = options.prefix;
    const keep = options.keep;
    this.#keep = (line) => ALWAYS_KEPT.has(String(line.msg)) || (keep?.(line) ?? false);
  }

  get live(): ChaosWorker[] {
    return this.all.filter((w) => w.alive);
  }

  /** Starts count workers at once and waits until each logged 'worker started'. */
  async start(count: number, extraEnv: Record<string, string> = {}): Promise<ChaosWorker[]> {
    await mkdir(this.#logDir, { recursive: true });
    const started = await Promise.all(Array.from({ length: count }, () => this.#spawn(extraEnv)));
    await Promise.all(started.map((w) => w.waitForLog((l) => l.msg === 'worker started', 60_000)));
    return started;
  }

  /** Starts one more worker without waiting for it (a replacement). */
  async spawn(extraEnv: Record<string, string> = {}): Promise<ChaosWorker> {
    return this.#spawn(extraEnv);
  }

  async #spawn(extraEnv: Record<string, string>): Promise<ChaosWorker> {
    const id = `${this.#prefix}-w${++this.#generation}`;
    const worker = new ChaosWorker({
      id,
      port: await freePort(),
      env: { ...this.#env, ...extraEnv },
      logFile: path.join(this.#logDir, `${id}.log`),
      keep: this.#keep,
    });
    this.all.push(worker);
    return worker;
  }

  pick(): ChaosWorker | undefined {
    const live = this.live;
    return live[Math.floor(Math.random() * live.length)];
  }

  /** Polls /ready of every live worker every intervalMs (stopped by stop()). */
  startReadinessProbe(intervalMs = 300): void {
    this.#probe = setInterval(() => {
      if (this.#probing) return;
      this.#probing = true;
      const live = this.live;
      void Promise.all(live.map((w) => w.get('/ready', 2_000)))
        .then((answers) => this.readiness.push({ at: Date.now(), alive: live.length, ready: answers.filter((a) => a.status === 200).length }))
        .finally(() => (this.#probing = false));
    }, intervalMs);
  }

  /** The first probe round at or after t in which every live worker was ready. */
  allReadyAfter(t: number): number | undefined {
    return this.readiness.find((r) => r.at >= t && r.alive > 0 && r.ready === r.alive)?.at;
  }

  /** Rounds in [from, to] in which some live worker was not ready. */
  notReadyRounds(from: number, to: number): number {
    return this.readiness.filter((r) => r.at >= from && r.at <= to && r.ready < r.alive).length;
  }

  lines(match: (line: LogLine) => boolean): { worker: string; line: LogLine }[] {
    return this.all.flatMap((w) => w.lines.filter(match).map((line) => ({ worker: w.id, line })));
  }

  /**
   * SIGTERM to every live worker (SIGKILL after killAfterMs); the exit statuses of all. A worker
   * still starting is first given time to finish starting (before that, SIGTERM just kills it).
   */
  async stop(killAfterMs = 20_000): Promise<(number | string | undefined)[]> {
    clearInterval(this.#probe);
    await Promise.all(this.live.map((w) => w.waitForLog((l) => l.msg === 'worker started', 60_000).catch(() => undefined)));
    await Promise.all(this.live.map((w) => w.stop('SIGTERM', killAfterMs)));
    return this.all.map((w) => w.exitStatus);
  }
}
