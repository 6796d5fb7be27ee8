import { performance } from 'node:perf_hooks';
import type { Logger } from './logger.js';

/**
 * Signals this soon after the first are the same stop request delivered twice, not a second one:
 * a SIGTERM to the process group or a Ctrl-C reaches the worker directly and again through npm,
 * npx or pm2-runtime, which forward what they receive to their child.
 */
export const SAME_STOP_REQUEST_MS = 1000;

interface Part {
  name: string;
  stop: () => Promise<void>;
  /** Used instead of stop() when shutdown is forced (also while a graceful stop() is under way). */
  forceStop?: () => Promise<void>;
  stopping?: Promise<void>;
}

/**
 * The one graceful-shutdown coordinator. Parts are added as they start and stopped in reverse
 * order. SIGTERM/SIGINT start a graceful shutdown (exit 0); a second signal, SAME_STOP_REQUEST_MS
 * or more after the first, forces it (running jobs are aborted and released at once; exit 1); an
 * uncaught error is logged fatal, forces the shutdown and exits 1.
 */
export class ShutdownCoordinator {
  readonly #parts: Part[] = [];
  readonly #logger: Logger;
  #graceful: Promise<void> | undefined;
  #forced: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(part: Part): void {
    this.#parts.push({ ...part });
  }

  get stopping(): boolean {
    return this.#graceful !== undefined || this.#forced !== undefined;
  }

  /** Stops every part in reverse order; a part that fails is logged and the rest still stop. */
  shutdown(): Promise<void> {
    this.#graceful ??= this.#stopAll(false);
    return this.#graceful;
  }

  forceShutdown(): Promise<void> {
    this.#forced ??= this.#stopAll(true);
    return this.#forced;
  }

  /** Wires signals and fatal errors of this process to the shutdown. */
  installProcessHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    let firstSignalAt = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (!this.#graceful) {
        firstSignalAt = performance.now();
        this.#logger.info({ signal }, 'shutting down: finishing running jobs (send the signal again to stop at once)');
        // Exit 0 only when nothing was forced on the way.
        this.shutdown().then(
          () => exit(this.#forced ? 1 : 0),
          () => exit(1),
        );
      } else if (performance.now() - firstSignalAt < SAME_STOP_REQUEST_MS) {
        this.#logger.debug({ signal }, 'the same stop request again (through the launcher); still draining');
      } else {
        this.#logger.warn({ signal }, 'second signal: aborting running jobs and releasing them');
        this.forceShutdown().finally(() => exit(1));
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const onFatal = (error: unknown) => {
      this.#logger.fatal({ err: error }, 'uncaught error: releasing jobs and exiting');
      this.forceShutdown().finally(() => exit(1));
    };
    process.on('uncaughtException', onFatal);
    process.on('unhandledRejection', onFatal);
  }

  async #stopAll(forced: boolean): Promise<void> {
    for (const part of [...this.#parts].reverse()) {
      try {
        // stop() runs once even when a forced shutdown overtakes a graceful one.
        await (forced && part.forceStop ? part.forceStop() : (part.stopping ??= part.stop()));
      } catch (error) {
        this.#logger.error({ err: error, part: part.name }, 'stopping a part failed');
      }
    }
    this.#logger.info({ forced }, 'stopped');
  }
}
