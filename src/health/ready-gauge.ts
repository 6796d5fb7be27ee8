import { Gauge, type Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

/**
 * supajobs_worker_ready: 1 while /ready would answer 200, else 0, worked out at each scrape by the
 * same check /ready runs, so alerts and dashboards see draining and database trouble too.
 */
export function registerReadyGauge(registry: Registry, readiness: () => Promise<Readiness>): Gauge {
  return new Gauge({
    name: 'supajobs_worker_ready',
    help: 'Whether this worker is ready to take jobs (1) or not (0), as GET /ready answers',
    registers: [registry],
    async collect() {
      this.set((await readiness()).ready ? 1 : 0);
    },
  });
}
