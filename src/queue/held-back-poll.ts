import type { Job } from '../job.js';

/** A worker that claimed a keyed job treats keys as in play for this long. */
const KEYED_WINDOW_MS = 60_000;

/**
 * Claims again soon after a claim came back short while queue controls or concurrency keys are in
 * play: such a claim may have been held back by a limit that frees by itself (a job of the queue
 * or key finishes on any worker, the one-second window moves on), which no wake-up announces.
 * Without controls nothing changes: a short claim means the queue is drained, and the worker
 * waits for a wake-up or its poll.
 */
export class HeldBackPoll {
  readonly #intervalMs: number;
  readonly #claim: () => void;
  #controlled = false;
  #keyedUntil = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number, claim: () => void) {
    this.#intervalMs = intervalMs;
    this.#claim = claim;
  }

  /** Whether controls or keys are in play for this worker now. */
  get active(): boolean {
    return this.#controlled || Date.now() < this.#keyedUntil;
  }

  /** Set from get_queue_controls(): a queue this worker claims from is paused or limited. */
  setControlled(controlled: boolean): void {
    this.#controlled = controlled;
  }

  afterClaim(jobs: Job[], wanted: number): void {
    if (jobs.some((j) => j.concurrencyKey !== null)) this.#keyedUntil = Date.now() + KEYED_WINDOW_MS;
    if (jobs.length >= wanted || !this.active || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#claim();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
