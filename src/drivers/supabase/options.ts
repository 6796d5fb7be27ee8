/** The supabase driver's options, defaults and their one validation. */

import { createLogger, type Logger } from '../../logger.js';

export interface RetryOptions {
  /** Tries in all, the first included (1: never retry). */
  attempts: number;
  /** Delay before the first retry; doubles each time, with jitter. */
  baseMs: number;
}

export interface SupabaseDriverOptions {
  /** The project URL, e.g. https://<ref>.supabase.co (or http://127.0.0.1:54321 locally). */
  url: string;
  /** The service_role key: worker functions are executable by service_role only. Never logged. */
  serviceRoleKey: string;
  /** Default: silent. */
  logger?: Logger;
  /** Wake-ups through a Realtime channel (default true); false: poll only. */
  realtime?: boolean;
  /** Bound on one RPC call, in ms (a call that takes longer is aborted, then retried). */
  rpcTimeoutMs?: number;
  /** Retries of RPC calls that failed on the network (status 0) or with a 5xx. */
  retry?: Partial<RetryOptions>;
  /** Realtime socket heartbeat (Phoenix ping, not a lease renewal) interval in ms (supabase-js default 25 s); a missed reply means reconnect. */
  socketHeartbeatIntervalMs?: number;
}

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({ attempts: 4, baseMs: 250 });
/** Retry delays never exceed this. */
export const MAX_RETRY_DELAY_MS = 10_000;
export const DEFAULT_SOCKET_HEARTBEAT_INTERVAL_MS = 25_000;

export interface ResolvedOptions {
  url: string;
  serviceRoleKey: string;
  logger: Logger;
  realtime: boolean;
  rpcTimeoutMs: number;
  retry: Readonly<RetryOptions>;
  socketHeartbeatIntervalMs: number;
}

export function resolveOptions(options: SupabaseDriverOptions): Readonly<ResolvedOptions> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('url must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('url must be an http(s) URL');
  if (typeof options.serviceRoleKey !== 'string' || options.serviceRoleKey.trim() === '') {
    throw new TypeError('serviceRoleKey must be a non-empty string');
  }
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  if (!Number.isInteger(retry.attempts) || retry.attempts < 1) throw new TypeError('retry.attempts must be an integer of at least 1');
  if (!(retry.baseMs >= 0)) throw new TypeError('retry.baseMs must be a number of at least 0');
  const rpcTimeoutMs = options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  if (!(rpcTimeoutMs > 0)) throw new TypeError('rpcTimeoutMs must be a positive number');
  const socketHeartbeatIntervalMs = options.socketHeartbeatIntervalMs ?? DEFAULT_SOCKET_HEARTBEAT_INTERVAL_MS;
  if (!(socketHeartbeatIntervalMs > 0)) throw new TypeError('socketHeartbeatIntervalMs must be a positive number');
  return Object.freeze({
    url: options.url,
    serviceRoleKey: options.serviceRoleKey,
    logger: options.logger ?? createLogger({ level: 'silent', pretty: false }),
    realtime: options.realtime ?? true,
    rpcTimeoutMs,
    retry: Object.freeze(retry),
    socketHeartbeatIntervalMs,
  });
}
