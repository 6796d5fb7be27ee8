/**
 * A task's retry policy: how long to wait before the next attempt. Either a backoff (exponential
 * from baseMs, doubling per attempt, capped at maxMs, with jitter) or a function of the attempt
 * that just failed and its error. Without a policy the job's own backoff applies (in SQL).
 */
export type RetryPolicy =
  | {
      /** Delay after the first failed attempt (default 2000). */
      baseMs?: number;
      /** Largest delay (default 3,600,000). */
      maxMs?: number;
      /**
       * 'full': random in [0, d]; 'equal' (default): d/2 + random in [0, d/2]; 'none': d exactly.
       * Jitter keeps jobs that failed together from retrying together.
       */
      jitter?: 'full' | 'equal' | 'none';
    }
  | ((attempt: number, error: unknown) => number);

/** Thrown errors may carry their own delay (an HTTP Retry-After); it wins over the policy. */
export interface RetryAfter {
  retryAfterMs: number;
}

const MAX_DELAY_MS = 31_536_000_000;

/** The delay before the retry after `attempt` failed, or undefined for the job's SQL backoff. */
export function retryDelayMs(policy: RetryPolicy | undefined, attempt: number, error: unknown, random = Math.random): number | undefined {
  const own = (error as Partial<RetryAfter> | null)?.retryAfterMs;
  if (typeof own === 'number' && Number.isFinite(own) && own >= 0) return Math.min(own, MAX_DELAY_MS);
  if (policy === undefined) return undefined;
  if (typeof policy === 'function') {
    const ms = policy(attempt, error);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(`retry policy returned ${String(ms)}: expected a number of milliseconds >= 0`);
    }
    return Math.min(ms, MAX_DELAY_MS);
  }
  const base = policy.baseMs ?? 2_000;
  const cap = policy.maxMs ?? 3_600_000;
  const d = Math.min(cap, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 60), MAX_DELAY_MS);
  switch (policy.jitter ?? 'equal') {
    case 'none':
      return d;
    case 'full':
      return random() * d;
    case 'equal':
      return d / 2 + (random() * d) / 2;
  }
}

/** Checks a policy once, when its task is registered. */
export function checkRetryPolicy(name: string, policy: RetryPolicy | undefined): void {
  if (policy === undefined || typeof policy === 'function') return;
  for (const key of ['baseMs', 'maxMs'] as const) {
    const v = policy[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new TypeError(`task "${name}": retry.${key} must be a number >= 0`);
  }
  if (policy.jitter !== undefined && !['full', 'equal', 'none'].includes(policy.jitter)) {
    throw new TypeError(`task "${name}": retry.jitter must be 'full', 'equal' or 'none'`);
  }
}
