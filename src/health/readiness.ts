import type { Driver } from '../drivers/driver.js';

/**
 * A worker's life: created → starting (health server up, waiting for the database) → ready
 * (claiming jobs) → draining (a stop began: no new claims, running jobs finish) → stopped.
 */
export type WorkerState = 'created' | 'starting' | 'ready' | 'draining' | 'stopped';

export interface Readiness {
  ready: boolean;
  /** Why not ready, in words that reveal no connection details. */
  reasons: string[];
  /** How jobs are noticed (e.g. "live", or "realtime unavailable, polling"). */
  wakeUps: string;
}

export interface ReadinessInputs {
  state: WorkerState;
  /** The processor is claiming work. */
  claiming: boolean;
  /** The driver, once the database was reached. */
  driver: Pick<Driver, 'ping' | 'wakeUps'> | undefined;
  /** The last attempt to reach the database at start failed. */
  unreachableAtStart: boolean;
}

const PING_TIMEOUT_MS = 2_000;

/**
 * What GET /ready answers: ready when the worker is in state ready, claiming, and the database
 * answers a ping within 2 s. A draining worker is not ready, so load balancers and rolling
 * deploys stop counting on it first.
 */
export async function decideReadiness(inputs: ReadinessInputs): Promise<Readiness> {
  const { state, driver } = inputs;
  const reasons: string[] = [];
  if (state !== 'ready') reasons.push(state === 'draining' ? 'draining' : `worker ${state}`);
  else if (!inputs.claiming) reasons.push('not claiming jobs');
  if (!driver && inputs.unreachableAtStart) reasons.push('database unreachable');
  if (driver && state !== 'stopped') {
    const answered = await Promise.race([
      driver.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, PING_TIMEOUT_MS, false).unref()),
    ]);
    if (!answered) reasons.push('database unreachable');
  }
  return { ready: reasons.length === 0, reasons, wakeUps: describeWakeUps(driver) };
}

function describeWakeUps(driver: ReadinessInputs['driver']): string {
  const wakeUps = driver?.wakeUps;
  if (!wakeUps) return 'none';
  if (wakeUps.mode === 'live') return 'live';
  if (wakeUps.mode === 'connecting') return 'reconnecting, polling';
  return wakeUps.reason ?? 'polling';
}
