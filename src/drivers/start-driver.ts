import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { DatabaseError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ShutdownCoordinator } from '../shutdown.js';
import { createDriver } from './create-driver.js';
import type { Driver } from './driver.js';
import { toDatabaseError } from './postgres/errors.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';

export interface StartDriverOptions {
  config: Readonly<Config>;
  logger: Logger;
  shutdown: ShutdownCoordinator;
  /** Aborted when the worker is stopped while it is still starting. */
  signal: AbortSignal;
  /** Told whether the last attempt found the database unreachable (for /ready). */
  onUnreachable?: (unreachable: boolean) => void;
}

export class StartAbortedError extends Error {
  constructor() {
    super('the worker was stopped while waiting for the database');
    this.name = 'StartAbortedError';
  }
}

/**
 * Creates the configured driver (applying migrations when asked) and starts it. While the database
 * cannot be reached (refused, reset, DNS, too many connections, starting up: a transient error),
 * it tries again with backoff and jitter, up to 30 s apart, until it connects or the signal
 * aborts; a supervisor then sees a live process that is not ready, not a crash loop. Any other
 * failure (wrong password, missing database, a failing migration, the embedded server not
 * starting) is thrown at once.
 */
export async function startDriver(options: StartDriverOptions): Promise<Driver> {
  const { config, logger, signal } = options;
  for (let attempt = 1; ; attempt++) {
    let driver: Driver | undefined;
    try {
      driver = await createDriver(config, logger, options.shutdown);
      await driver.start();
    } catch (error) {
      await driver?.stop().catch(() => undefined);
      if (config.transport === 'embedded' || !isTransient(error)) throw error;
      if (signal.aborted) throw new StartAbortedError();
      options.onUnreachable?.(true);
      const delay = reconnectBackoffMs(attempt, 500, 30_000);
      if (attempt === 1 || attempt % 10 === 0) {
        logger.warn({ err: error, attempt, retryInMs: Math.round(delay) }, 'database unreachable at start; trying again');
      }
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw new StartAbortedError();
      continue;
    }
    if (signal.aborted) {
      await driver.stop().catch(() => undefined);
      throw new StartAbortedError();
    }
    options.onUnreachable?.(false);
    if (attempt > 1) logger.info({ attempts: attempt }, 'database reachable');
    return driver;
  }
}

function isTransient(error: unknown): boolean {
  return (error instanceof DatabaseError ? error : toDatabaseError(error, 'start')).transient;
}
