import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { asDatabaseError } from '../errors.js';
import type { Logger } from '../logger.js';
import { reconnectBackoffMs } from '../reconnect-backoff.js';
import { openDatabase, type Database } from './open-database.js';

export interface WaitForDatabaseOptions {
  config: Readonly<Config>;
  logger: Logger;
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
 * A worker's openDatabase. While the database cannot be reached (refused, reset, DNS, too many
 * connections, starting up: a transient error), it tries again with reconnect backoff, up to 30 s
 * apart, until it connects or the signal aborts; a supervisor then sees a live process that is
 * not ready, not a crash loop. Any other failure (wrong password, missing database, the embedded
 * server not starting) is thrown at once.
 */
export async function waitForDatabase(options: WaitForDatabaseOptions): Promise<Database> {
  const { config, logger, signal } = options;
  for (let attempt = 1; ; attempt++) {
    let database: Database;
    try {
      database = await openDatabase(config, logger, 'worker');
    } catch (error) {
      if (config.transport === 'embedded' || !asDatabaseError(error, 'start').transient) throw error;
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
      await database.close().catch(() => undefined);
      throw new StartAbortedError();
    }
    options.onUnreachable?.(false);
    if (attempt > 1) logger.info({ attempts: attempt }, 'database reachable');
    return database;
  }
}
