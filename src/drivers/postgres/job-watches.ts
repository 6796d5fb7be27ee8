import type { Logger } from '../../logger.js';
import type { JobWatch } from '../driver.js';

export interface JobWatchesOptions {
  /** watch_job(id): the waiter's number, or null when the job is missing or already finished. */
  register(id: string): Promise<string | null>;
  /** unwatch_job(id, waiter). */
  unregister(id: string, waiter: string): Promise<void>;
  /** Opens the LISTEN connection if it is not open yet; false when LISTEN cannot work (a transaction pooler). */
  listen(): boolean;
  /** Whether the LISTEN connection receives now. */
  listening(): boolean;
  logger: Logger;
}

interface Watch {
  onChange: () => void;
  /** undefined until watch_job answered; null: no row to remove (none made, or the finish removed it). */
  waiter: string | null | undefined;
}

/**
 * The postgres transport's job watches: each registers a waiter (watch_job), so that the statement
 * that finishes the job sends a NOTIFY on supajobs_finished naming it, received on the LISTEN
 * connection. A watch is live once registered while that connection receives; the caller polls
 * otherwise.
 */
export class JobWatches {
  readonly #options: JobWatchesOptions;
  readonly #byJob = new Map<string, Set<Watch>>();

  constructor(options: JobWatchesOptions) {
    this.#options = options;
  }

  watch(id: string, onChange: () => void): JobWatch {
    const canListen = this.#options.listen();
    const watch: Watch = { onChange, waiter: undefined };
    let stopped = false;
    const watches = this.#byJob.get(id) ?? new Set<Watch>();
    watches.add(watch);
    this.#byJob.set(id, watches);
    if (canListen) {
      this.#options.register(id).then(
        (waiter) => {
          watch.waiter = waiter;
          if (stopped) this.#unregister(id, watch);
          else onChange(); // look again: a finish before the registration was not notified
        },
        (error: unknown) => this.#options.logger.debug({ err: error, jobId: id }, 'watch_job failed; waiting by polling'),
      );
    }
    const listening = () => this.#options.listening();
    return {
      get live() {
        return !stopped && watch.waiter !== undefined && listening();
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        watches.delete(watch);
        if (watches.size === 0) this.#byJob.delete(id);
        this.#unregister(id, watch);
      },
    };
  }

  /** From the LISTEN connection: these jobs finished (their waiters' rows are gone), or null: any may have. */
  finished(ids: string[] | null): void {
    const watches = ids === null ? [...this.#byJob.values()].flatMap((set) => [...set]) : ids.flatMap((id) => [...(this.#byJob.get(id) ?? [])]);
    for (const watch of watches) {
      if (ids !== null) watch.waiter = null;
      try {
        watch.onChange();
      } catch {
        // a nudge; the caller's polling covers a listener that failed
      }
    }
  }

  #unregister(id: string, watch: Watch): void {
    const waiter = watch.waiter;
    if (!waiter) return;
    watch.waiter = null;
    this.#options.unregister(id, waiter).catch((error: unknown) => this.#options.logger.debug({ err: error, jobId: id }, 'unwatch_job failed'));
  }
}
