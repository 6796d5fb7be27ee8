import type { Config } from '../config.js';
import { StartAbortedError } from '../database/wait-for-database.js';
import { EmbeddedUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Worker } from '../worker.js';
import { watchLauncher } from './launcher-watch.js';
import { useSmallHeap } from './small-heap.js';

/** `supajobs start`: runs the worker until a signal, under the shutdown coordinator. */
export async function startCommand(config: Readonly<Config>, logger: Logger): Promise<void> {
  useSmallHeap();
  const worker = new Worker({ config, logger });
  worker.shutdown.installProcessHandlers();
  watchLauncher(() => {
    if (worker.shutdown.stopping) return;
    logger.info({ launcher: process.env.npm_lifecycle_event }, 'the npm process that launched the worker is gone');
    process.kill(process.pid, 'SIGTERM');
  });
  try {
    await worker.start();
  } catch (error) {
    // A signal while waiting for the database: the shutdown it started exits.
    if (error instanceof StartAbortedError) return;
    // Known causes get their one line (why, and what to do), not a stack trace.
    if (error instanceof EmbeddedUnavailableError) logger.fatal({ code: error.code }, error.message);
    else logger.fatal({ err: error }, 'worker failed to start');
    await worker.shutdown.forceShutdown();
    process.exit(1);
  }
  // PM2 (wait_ready) and other supervisors that listen for it.
  process.send?.('ready');
}
