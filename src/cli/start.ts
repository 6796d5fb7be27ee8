import type { Config } from '../config.js';
import { StartAbortedError } from '../database/wait-for-database.js';
import type { Logger } from '../logger.js';
import { Worker } from '../worker.js';

/** `supajobs start`: runs the worker until a signal, under the shutdown coordinator. */
export async function startCommand(config: Readonly<Config>, logger: Logger): Promise<void> {
  const worker = new Worker({ config, logger });
  worker.shutdown.installProcessHandlers();
  try {
    await worker.start();
  } catch (error) {
    // A signal while waiting for the database: the shutdown it started exits.
    if (error instanceof StartAbortedError) return;
    logger.fatal({ err: error }, 'worker failed to start');
    await worker.shutdown.forceShutdown();
    process.exit(1);
  }
  // PM2 (wait_ready) and other supervisors that listen for it.
  process.send?.('ready');
}
