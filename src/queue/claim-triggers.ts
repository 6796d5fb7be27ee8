import type { Driver, WakeUpHint } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';
import { jitteredInterval } from './jittered-interval.js';

export interface ClaimTriggersOptions {
  driver: Pick<Driver, 'onWakeUp' | 'passWakeUp'>;
  /** null: every queue. */
  queues: string[] | null;
  pollIntervalMs: number;
  logger: Logger;
  /**
   * Work may be ready: claim. `forOneJob`: a wake-up that chose this worker alone for one job
   * (the database tells as many workers as it made jobs ready), so the claim takes one job; any
   * other trigger claims as many as the worker has room for.
   */
  onTrigger: (forOneJob: boolean) => void;
  /** Whether a job told of now would start now (a free slot, claiming); default: yes. */
  canClaim?: () => boolean;
}

/**
 * What makes the processor claim: a wake-up hint for one of its queues (a Realtime event or a
 * NOTIFY, through the driver), the poll timer (the guarantee), a timer for the next known
 * run_at of a scheduled job, and a retry after a failed claim.
 */
export class ClaimTriggers {
  readonly #options: ClaimTriggersOptions;
  #poll: NodeJS.Timeout | undefined;
  #nextRunAt: { at: number; timer: NodeJS.Timeout } | undefined;
  #removeWakeUpListener: (() => void) | undefined;
  #claimFailures = 0;
  #claimRetry: NodeJS.Timeout | undefined;

  constructor(options: ClaimTriggersOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#poll) return;
    this.#removeWakeUpListener = this.#options.driver.onWakeUp((hint) => this.#onWakeUp(hint));
    this.#poll = jitteredInterval(this.#options.pollIntervalMs, () => this.#options.onTrigger(false));
  }

  stop(): void {
    this.#removeWakeUpListener?.();
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#clearNextRunAt();
    clearTimeout(this.#claimRetry);
    this.#claimRetry = undefined;
  }

  claimSucceeded(): void {
    if (this.#claimFailures > 0) this.#options.logger.info({ failures: this.#claimFailures }, 'claiming works again');
    this.#claimFailures = 0;
  }

  /** Tries again with reconnect backoff, sooner than the poll while the database is coming back; one retry timer at a time. */
  claimFailed(error: Error): void {
    this.#claimFailures++;
    const delay = Math.min(this.#options.pollIntervalMs, reconnectBackoffMs(this.#claimFailures, 200, 10_000));
    if (this.#claimFailures === 1 || this.#claimFailures % 20 === 0) {
      this.#options.logger.warn({ err: error, failures: this.#claimFailures, retryInMs: Math.round(delay) }, 'claiming jobs failed');
    }
    if (this.#claimRetry) return;
    this.#claimRetry = setTimeout(() => {
      this.#claimRetry = undefined;
      this.#options.onTrigger(false);
    }, delay);
    this.#claimRetry.unref();
  }

  #onWakeUp(hint: WakeUpHint): void {
    const queues = this.#options.queues;
    const ours = !queues || !hint.queues || hint.queues.some((q) => queues.includes(q));
    // Told alone (the database woke as many workers as there are jobs): a worker that cannot start
    // the job now hands the wake-up on to every worker, so that it does not wait for a free slot.
    if (hint.targeted && (!ours || !(this.#options.canClaim?.() ?? true))) this.#options.driver.passWakeUp?.(hint);
    if (!ours) return;
    if (hint.nextRunAt) this.#scheduleAt(hint.nextRunAt.getTime());
    if (hint.count > 0 || hint.queues === null) this.#options.onTrigger(hint.targeted === true && !hint.nextRunAt);
  }

  #scheduleAt(at: number): void {
    // A hint is untrusted input: a time new Date() could not read (NaN) must not replace the
    // timer already set (setTimeout would fire it at once and the real run_at would be lost).
    if (!Number.isFinite(at)) return;
    if (!this.#poll || (this.#nextRunAt && this.#nextRunAt.at <= at)) return;
    this.#clearNextRunAt();
    const timer = setTimeout(() => {
      this.#nextRunAt = undefined;
      this.#options.onTrigger(false);
    }, Math.max(0, at - Date.now()) + 5);
    timer.unref();
    this.#nextRunAt = { at, timer };
  }

  #clearNextRunAt(): void {
    if (this.#nextRunAt) clearTimeout(this.#nextRunAt.timer);
    this.#nextRunAt = undefined;
  }
}
