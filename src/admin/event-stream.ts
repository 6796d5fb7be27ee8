import type { Logger } from '../logger.js';
import type { QueueClient } from '../queue/client.js';
import type { JobEvent, QueueOverview } from '../queue/lookups.js';

export type StreamMessage = { type: 'job'; event: JobEvent } | { type: 'stats'; queues: QueueOverview[] };

export interface EventStreamOptions {
  client: () => QueueClient | undefined;
  logger: Logger;
  intervalMs: number;
  /** Queue statistics go out every this many looks. */
  statsEvery?: number;
}

/**
 * Follows job_events for every open /api/v1/stream connection at once: one look for new events
 * per interval (through the id's BRIN index, so the cost does not grow with history), and the
 * queue overview every few looks. It runs only while someone listens.
 */
export class EventStream {
  readonly #options: EventStreamOptions;
  readonly #subscribers = new Set<(message: StreamMessage) => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastId: number | undefined;
  #looks = 0;
  #busy = false;

  constructor(options: EventStreamOptions) {
    this.#options = options;
  }

  subscribe(listener: (message: StreamMessage) => void): () => void {
    this.#subscribers.add(listener);
    if (!this.#timer) this.start();
    return () => {
      this.#subscribers.delete(listener);
      if (this.#subscribers.size === 0) this.stop();
    };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#look(), this.#options.intervalMs);
    this.#timer.unref();
    void this.#look();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lastId = undefined;
    this.#looks = 0;
  }

  async #look(): Promise<void> {
    const client = this.#options.client();
    if (this.#busy || !client) return;
    this.#busy = true;
    try {
      if (this.#lastId === undefined) {
        // Start from now: the newest event's id (the page has already read what came before).
        const [newest] = await client.events({ limit: 1 });
        this.#lastId = newest?.id ?? 0;
      } else {
        for (let more = true; more; ) {
          const events = await client.events({ afterId: this.#lastId, limit: 500 });
          for (const event of events) this.#send({ type: 'job', event });
          if (events.length > 0) this.#lastId = events[events.length - 1]!.id;
          more = events.length === 500;
        }
      }
      if (this.#looks++ % (this.#options.statsEvery ?? 5) === 0) this.#send({ type: 'stats', queues: await client.overview() });
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'admin stream: reading job events failed; trying again');
    } finally {
      this.#busy = false;
    }
  }

  #send(message: StreamMessage): void {
    for (const listener of this.#subscribers) listener(message);
  }
}
