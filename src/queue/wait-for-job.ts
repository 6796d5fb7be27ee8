import { WaitTimeoutError } from '../errors.js';
import type { Job } from '../job.js';

/** A job in one of these states will not change by itself any more. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export interface WaitOptions {
  /** Give up after this long (default 60 s): rejects with WAIT_TIMEOUT. */
  timeoutMs?: number;
  /** Longest pause between two looks (default 1 s); wake-ups cut a pause short. */
  maxPollMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until the job is completed, failed or cancelled and returns it. It looks again whenever
 * `subscribe` reports a change that may concern it (the transport's notifications), and in any
 * case after a pause that grows from 50 ms to maxPollMs: notifications nudge, polling guarantees.
 */
export async function waitForJob(
  id: string,
  look: (id: string) => Promise<Job | null>,
  subscribe: (nudge: () => void) => () => void,
  options: WaitOptions = {},
): Promise<Job> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxPollMs = options.maxPollMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe(() => wake?.());
  try {
    for (let pause = 50; ; pause = Math.min(pause * 2, maxPollMs)) {
      options.signal?.throwIfAborted();
      const job = await look(id);
      if (!job) throw Object.assign(new Error(`job ${id} does not exist`), { code: 'INVALID_ARGUMENT' });
      if (FINISHED_STATUSES.has(job.status)) return job;
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(id, timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(pause, left));
        const onAbort = () => done();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    unsubscribe();
  }
}
