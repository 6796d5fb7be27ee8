import type { Config } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { JobProcessor } from '../queue/processor.js';
import { QueueControlsWatch } from '../queue/queue-controls-watch.js';
import type { ShutdownCoordinator } from '../shutdown.js';
import type { ScheduleInput } from './schedule.js';
import { Scheduler } from './scheduler.js';

/**
 * The worker's scheduling services: syncs the schedules declared in code (a bad one rejects, so
 * the start fails), starts the Scheduler (unless SCHEDULER=false) and the QueueControlsWatch that
 * tells the processor when its queues are paused or limited. Each is added to the shutdown.
 */
export async function startScheduling(options: {
  config: Readonly<Config>;
  driver: Driver;
  logger: Logger;
  metrics: WorkerMetrics;
  processor: JobProcessor;
  shutdown: ShutdownCoordinator;
  declared?: ScheduleInput[];
}): Promise<void> {
  const { config, driver, logger, metrics, processor, shutdown } = options;
  const scheduler = new Scheduler({
    driver,
    logger,
    metrics,
    catchUpMs: config.scheduleCatchUpMs,
    syncIntervalMs: config.controlSyncIntervalMs,
    declared: options.declared,
  });
  await scheduler.sync();
  if (config.scheduler) {
    scheduler.start();
    shutdown.add({ name: 'scheduler', stop: () => scheduler.stop() });
  }
  const controls = new QueueControlsWatch({
    driver,
    logger,
    queues: config.queues,
    intervalMs: config.controlSyncIntervalMs,
    onChange: (controlled) => processor.heldBack.setControlled(controlled),
  });
  await controls.start();
  shutdown.add({ name: 'queue controls watch', stop: () => controls.stop() });
}
