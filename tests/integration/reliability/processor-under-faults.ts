/**
 * A JobProcessor on a test database whose driver can be slowed or broken per call, for the
 * reliability tests: the real PostgresDriver underneath, with overrides for the calls a test
 * wants to interfere with.
 */
import type { Driver } from '../../../src/drivers/driver.js';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { createMetrics } from '../../../src/metrics.js';
import { ExpiredLeaseReclaimer } from '../../../src/queue/expired-lease-reclaimer.js';
import { JobProcessor, type ProcessorOptions } from '../../../src/queue/processor.js';
import type { AnyTask } from '../../../src/queue/task.js';
import { TaskRegistry } from '../../../src/queue/task-registry.js';
import type { TestDatabase } from '../../support/database.js';
import { captureLogs, type CapturedLogs } from '../../support/logs.js';

export type DriverOverrides = Partial<Pick<Driver, 'claim' | 'heartbeat' | 'complete' | 'fail' | 'release' | 'reclaimExpired'>>;

/** The driver with some methods replaced; the replacements get the real driver to call through. */
export function driverWith(inner: Driver, overrides: (real: Driver) => DriverOverrides): Driver {
  const replaced = overrides(inner) as Record<string | symbol, unknown>;
  return new Proxy(inner, {
    get(target, property) {
      if (property in replaced) return replaced[property];
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface ProcessorUnderFaults {
  processor: JobProcessor;
  driver: PostgresDriver;
  logs: CapturedLogs;
  workerId: string;
}

/** A started processor (stopped when the test ends, before its database is dropped) with tasks, options and driver overrides. */
export async function startProcessor(
  db: TestDatabase,
  tasks: Record<string, AnyTask>,
  options: Partial<ProcessorOptions> & { reclaimIntervalMs?: number; overrides?: (real: Driver) => DriverOverrides } = {},
): Promise<ProcessorUnderFaults> {
  const logs = captureLogs({ secrets: [db.url] });
  const driver = new PostgresDriver({ connectionString: db.url, logger: logs.logger, poolSize: 4 });
  await driver.start();
  const workerId = `reliability-${Math.random().toString(36).slice(2, 8)}`;
  const { overrides, reclaimIntervalMs = 500, ...rest } = options;
  const faulty = overrides ? driverWith(driver, overrides) : driver;
  const metrics = createMetrics();
  const processor = new JobProcessor({
    driver: faulty,
    tasks: new TaskRegistry(tasks),
    logger: logs.logger,
    metrics,
    workerId,
    queues: null,
    maxConcurrentJobs: 10,
    pollIntervalMs: 200,
    leaseSeconds: 5,
    jobTimeoutMs: 60_000,
    ...rest,
  });
  const reclaimer = new ExpiredLeaseReclaimer({ driver: faulty, logger: logs.logger, metrics, intervalMs: reclaimIntervalMs, onReclaimed: () => processor.wake() });
  processor.start();
  reclaimer.start();
  // Stopped before its database is dropped.
  db.onDrop(async () => {
    await reclaimer.stop();
    await processor.abortAll();
    await driver.stop();
  });
  return { processor, driver, logs, workerId };
}
