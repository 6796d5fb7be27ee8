import type { Logger } from '../../logger.js';
import type { JobWatch, WakeUpHint, WakeUpState } from '../driver.js';
import { WakeUpListeners } from '../wake-up-listeners.js';
import { JobWatches } from './job-watches.js';
import { ListenWakeUps } from './listen-wake-ups.js';

export interface PostgresNotificationsOptions {
  connectionString: string;
  logger: Logger;
  /** Wake-ups asked for (a worker): LISTEN from start(). Otherwise it opens at the first job watch. */
  wakeUps: boolean;
  /** false behind a transaction pooler: LISTEN never receives there. */
  canListen: boolean;
  checkIntervalMs?: number;
  /** A NOTIFY from another connection (the LISTEN proof). */
  notify(channel: string, payload: string): Promise<void>;
  /** watch_job(id) and unwatch_job(id, waiter), on the pool. */
  register(id: string): Promise<string | null>;
  unregister(id: string, waiter: string): Promise<void>;
}

/**
 * What the postgres transport hears on its one LISTEN connection: wake-up hints (supajobs_jobs)
 * and the ends of watched jobs (supajobs_finished). The connection is opened at start for a
 * worker, and at the first job watch for a client (which never needs wake-ups).
 */
export class PostgresNotifications {
  readonly #options: PostgresNotificationsOptions;
  readonly #wakeUpListeners = new WakeUpListeners();
  readonly #watches: JobWatches;
  #listener: ListenWakeUps | undefined;
  #state: WakeUpState = { mode: 'connecting' };

  constructor(options: PostgresNotificationsOptions) {
    this.#options = options;
    this.#watches = new JobWatches({
      register: options.register,
      unregister: options.unregister,
      listen: () => this.#listen(),
      listening: () => this.#state.mode === 'live',
      logger: options.logger,
    });
  }

  get wakeUps(): WakeUpState {
    return this.#options.wakeUps ? this.#state : { mode: 'poll-only', reason: 'LISTEN unavailable (transaction pooler), polling' };
  }

  start(): void {
    if (this.#options.wakeUps) this.#listen();
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

  /** Opens the LISTEN connection once; false when it cannot work here. */
  #listen(): boolean {
    if (!this.#options.canListen) return false;
    if (!this.#listener) {
      this.#listener = new ListenWakeUps({
        connectionString: this.#options.connectionString,
        logger: this.#options.logger,
        onHint: (hint) => this.#wakeUpListeners.emit(hint),
        onState: (state) => (this.#state = state),
        onFinished: (ids) => this.#watches.finished(ids),
        notify: this.#options.notify,
        checkIntervalMs: this.#options.checkIntervalMs,
      });
      this.#listener.start();
    }
    return true;
  }
}
