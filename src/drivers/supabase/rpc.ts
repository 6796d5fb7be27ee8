import type { SupabaseClient } from '@supabase/supabase-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { reconnectBackoffMs } from '../../reconnect-backoff.js';
import { rpcError } from './errors.js';
import type { Logger } from '../../logger.js';
import { MAX_RETRY_DELAY_MS, type RetryOptions } from './options.js';

/**
 * Calls the contract's functions through PostgREST (`.rpc(fn, namedArguments)`), each call bounded
 * by a timeout. supabase-js never retries a POST: this does, on network failures and 5xx, with
 * exponential backoff and jitter, a bounded number of times. Retrying is safe because every write
 * of the contract is fenced (completion, failure, release and progress apply only for the lease
 * holder) or idempotent enough (a repeated claim leaves a lease that expires and is reclaimed; a
 * repeated enqueue without job_key may add a duplicate, as at-least-once delivery allows).
 */
export class RpcCaller {
  readonly #client: SupabaseClient;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #retry: Readonly<RetryOptions>;
  readonly #stopped = new AbortController();

  constructor(options: { client: SupabaseClient; logger: Logger; timeoutMs: number; retry: Readonly<RetryOptions> }) {
    this.#client = options.client;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
  }

  /** The function's result as PostgREST returns it (bare scalar, array of rows or values, or null). */
  async call<T>(fn: string, args: Record<string, unknown>, options: { retry?: boolean } = {}): Promise<T> {
    const attempts = options.retry === false ? 1 : this.#retry.attempts;
    for (let attempt = 1; ; attempt++) {
      const { data, error, status } = await this.#client.rpc(fn, args).abortSignal(AbortSignal.timeout(this.#timeoutMs));
      if (!error) return data as T;
      const failure = rpcError(fn, error, status);
      if (!failure.transient || attempt >= attempts || this.#stopped.signal.aborted) throw failure;
      const delayMs = Math.round(reconnectBackoffMs(attempt, this.#retry.baseMs, MAX_RETRY_DELAY_MS));
      this.#logger.warn({ fn, status, code: failure.sqlState, reason: error.message, attempt, retryInMs: delayMs }, 'rpc call failed; retrying');
      const waited = await sleep(delayMs, true, { signal: this.#stopped.signal }).catch(() => false);
      if (!waited) throw failure;
    }
  }

  /** Ends pending retry waits (their calls reject with the last error); calls in flight finish. */
  stop(): void {
    this.#stopped.abort();
  }
}
