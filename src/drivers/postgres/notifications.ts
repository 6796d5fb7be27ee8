import { redactUrl, type Logger } from '../../logger.js';
import type { JobWatch, WakeUpHint, WakeUpState } from '../driver.js';
import { WakeUpListeners } from '../wake-up-listeners.js';
import { JobWatches } from './job-watches.js';
import { ListenWakeUps, NOTIFY_CHANNEL } from './listen-wake-ups.js';

export interface PostgresNotificationsOptions {
  connectionString: string;
  logger: Logger;
  /** Wake-ups (a worker): LISTEN from start(); default: unless behind a transaction pooler. Otherwise it opens at the first job watch. */
  listen?: boolean;
  /** Behind a transaction pooler, where LISTEN never receives. */
  pooled: boolean;
  checkIntervalMs?: number;
  /** A NOTIFY from another connection (the LISTEN proof). */
  notify(channel: string, payload: string): Promise<void>;
  /** A statement on the pool (the driver's, prepared by name where it can be). */
  query(name: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]>;
}

/**
 * What the postgres transport hears on its one LISTEN connection: wake-up hints (supajobs_jobs)
 * and the ends of watched jobs (supajobs_finished). The connection is opened at start for a
 * worker, and at the first job watch for a client (which never needs wake-ups).
 */
export class PostgresNotifications {
  readonly #options: PostgresNotificationsOptions;
  readonly #wakeUps: boolean;
  readonly #canListen: boolean;
  readonly #wakeUpListeners = new WakeUpListeners();
  readonly #watches: JobWatches;
  #listener: ListenWakeUps | undefined;
  #state: WakeUpState = { mode: 'connecting' };

  constructor(options: PostgresNotificationsOptions) {
    this.#options = options;
    this.#wakeUps = options.listen ?? !options.pooled;
    this.#canListen = this.#wakeUps || !options.pooled;
    if (options.pooled && options.listen !== false) {
      options.logger.warn(
        { database: redactUrl(options.connectionString) },
        'transaction pooler: LISTEN cannot work here, polling only (use the session pooler or a direct connection for instant pick-up)',
      );
    }
    this.#watches = new JobWatches({
      register: async (id) => ((await options.query('watch_job', 'select public.watch_job($1) as waiter', [id]))[0]?.waiter as string | null) ?? null,
      unregister: async (id, waiter) => void (await options.query('unwatch_job', 'select public.unwatch_job($1, $2)', [id, waiter])),
      listen: () => this.#listen(),
      listening: () => this.#state.mode === 'live',
      logger: options.logger,
    });
  }

  get wakeUps(): WakeUpState {
    return this.#wakeUps ? this.#state : { mode: 'poll-only', reason: 'LISTEN unavailable (transaction pooler), polling' };
  }

  start(): void {
    if (this.#wakeUps) this.#listen();
  }

  async stop(): Promise<void> {
    await this.#listener?.stop();
  }

  onWakeUp(listener: (hint: WakeUpHint) => void): () => void {
    return this.#wakeUpListeners.add(listener);
  }

  watchJob(id: string, onChange: () => void): JobWatch {
    return this.#watches.watch(id, onChange);
  }

  /** A targeted wake-up this worker cannot take, sent on to every worker; polling covers a failure. */
  passOn(hint: WakeUpHint): void {
    const summary = JSON.stringify({ queues: hint.queues, count: hint.count, next_run_at: null });
    this.#options.notify(NOTIFY_CHANNEL, summary).catch((error: unknown) => this.#options.logger.warn({ err: error }, 'passing a wake-up on failed; polling covers it'));
  }

  /** Opens the LISTEN connection once; false when it cannot work here. */
  #listen(): boolean {
    if (!this.#canListen) return false;
    if (!this.#listener) {
      this.#listener = new ListenWakeUps({
        connectionString: this.#options.connectionString,
        logger: this.#options.logger,
        // Told alone, with nobody to claim (stopping): the other workers must hear of it.
        onHint: (hint) => {
          if (!this.#wakeUpListeners.emit(hint) && hint.targeted) this.passOn(hint);
        },
        onState: (state) => (this.#state = state),
        onFinished: (ids) => this.#watches.finished(ids),
        notify: this.#options.notify,
        // Only a worker takes targeted wake-ups: a client's connection (job watches) never claims.
        register: this.#wakeUps,
        checkIntervalMs: this.#options.checkIntervalMs,
      });
      this.#listener.start();
    }
    return true;
  }
}
