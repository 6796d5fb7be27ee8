import type { Counter } from 'prom-client';
import type { DatabaseOperation } from '../metrics.js';
import type { Driver } from './driver.js';

const OPERATION_OF: Partial<Record<keyof Driver, DatabaseOperation>> = {
  ping: 'ping',
  claim: 'claim',
  heartbeat: 'heartbeat',
  complete: 'complete',
  fail: 'fail',
  release: 'release',
  progress: 'progress',
  reclaimExpired: 'reclaim',
  stats: 'stats',
  enqueue: 'enqueue',
  enqueueMany: 'enqueue',
};

/**
 * The driver, with every failed queue call counted by operation (supajobs_database_errors_total),
 * so an outage (a pooler down, a database restarting) leaves a trace in the metrics.
 */
export function countingErrors(driver: Driver, errors: Counter<'operation'>): Driver {
  return new Proxy(driver, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      const operation = OPERATION_OF[property as keyof Driver];
      if (!operation) return method;
      return (...args: unknown[]) =>
        (method(...args) as Promise<unknown>).catch((error: unknown) => {
          errors.inc({ operation });
          throw error;
        });
    },
  });
}
