import type { Logger } from '../logger.js';
import type { QueueClient } from '../queue/client.js';
import type { EventCursor, JobEvent, QueueOverview } from '../queue/lookups.js';

export type StreamMessage = { type: 'job'; event: JobEvent } | { type: 'stats'; queues: QueueOverview[] };

export interface EventStreamOptions {
  client: () => QueueClient | undefined;
  logger: Logger;
  intervalMs: number;
  /** Queue statistics go out every this many looks. */
  statsEvery?: number;
}

/**
 * Follows job_events for every open /api/v1/stream connection at once: one look per interval
 * (follow_job_events, through the id's BRIN index, so the cost does not grow with history; an
 * event whose transaction commits after later ones is delivered too, when it commits), and the
 * queue overview every few looks. It runs only while someone listens.
 */
export class EventStream {
  readonly #options: EventStreamOptions;
  readonly #subscribers = new Set<(message: StreamMessage) => void>();
  #timer: NodeJS.Timeout | undefined;
  #cursor: EventCursor | undefined;
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
    this.#cursor = undefined;
    this.#looks = 0;
  }

  async #look(): Promise<void> {
    const client = this.#options.client();
    if (this.#busy || !client) return;
    this.#busy = true;
    try {
      // The first look starts from now (the page has already read what came before).
      for (let more = true; more; ) {
        const follow = await client.followEvents(this.#cursor ?? null);
        for (const event of follow.events) this.#send({ type: 'job', event });
        this.#cursor = follow.cursor;
        more = follow.more;
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
