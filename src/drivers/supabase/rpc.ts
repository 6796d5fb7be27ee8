import type { SupabaseClient } from '@supabase/supabase-js';
import { rpcError } from './errors.js';

/**
 * Calls the contract's functions through PostgREST (`.rpc(fn, namedArguments)`), each call bounded
 * by a timeout; a failure leaves as a DatabaseError whose `transient` flag says whether trying again
 * may succeed. Retrying is not decided here but above the driver seam, for both transports alike
 * (docs/architecture.md, "Retries of database calls").
 */
export class RpcCaller {
  readonly #client: SupabaseClient;
  readonly #timeoutMs: number;

  constructor(options: { client: SupabaseClient; timeoutMs: number }) {
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The function's result as PostgREST returns it (bare scalar, array of rows or values, or null). */
  async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    const { data, error, status } = await this.#client.rpc(fn, args).abortSignal(AbortSignal.timeout(this.#timeoutMs));
    if (error) throw rpcError(fn, error, status);
    return data as T;
  }
}
