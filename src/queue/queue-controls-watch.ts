import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import { QueueControls } from './queue-controls.js';

/**
 * Reads get_queue_controls() every interval and says whether a queue this worker claims from is
 * paused or limited (the processor then re-polls after short claims; see HeldBackPoll).
 */
export class QueueControlsWatch {
  readonly #controls: QueueControls;
  readonly #options: { logger: Logger; queues: string[] | null; intervalMs: number; onChange: (controlled: boolean) => void };
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;

  constructor(options: { driver: Driver; logger: Logger; queues: string[] | null; intervalMs: number; onChange: (controlled: boolean) => void }) {
    this.#controls = new QueueControls(options.driver);
    this.#options = options;
  }

  /** Reads once (a failure is logged, not thrown), then every interval. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reading;
  }

  check(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #read(): Promise<void> {
    const { queues, onChange, logger } = this.#options;
    try {
      const controls = await this.#controls.list();
      onChange(controls.some((c) => (c.paused || c.maxRunning !== null || c.maxPerSecond !== null) && (!queues || queues.includes(c.queue))));
    } catch (error) {
      logger.warn({ err: error }, 'reading queue controls failed');
    }
  }
}
