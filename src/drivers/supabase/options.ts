/** The supabase driver's options, defaults and their one validation. */

import { createLogger, type Logger } from '../../logger.js';
import type { RealtimeWakeUpMode } from './wake-up-channels.js';

export interface SupabaseDriverOptions {
  /** The project URL, e.g. https://<ref>.supabase.co (or http://127.0.0.1:54321 locally). */
  url: string;
  /** The service_role key: worker functions are executable by service_role only. Never logged. */
  serviceRoleKey: string;
  /** Default: silent. */
  logger?: Logger;
  /** Wake-ups through a Realtime channel (default true); false: poll only. */
  realtime?: boolean;
  /**
   * Which Realtime channel: 'postgres_changes' (default), Realtime's per-row INSERT events on
   * public.jobs; or 'broadcast', one message per statement sent by the database (start() turns
   * them on with set_broadcast_wake_ups; without realtime.send in the database: poll only).
   */
  realtimeWakeUps?: RealtimeWakeUpMode;
  /** Bound on one RPC call, in ms (a call that takes longer is aborted and fails as transient). */
  rpcTimeoutMs?: number;
  /** Realtime socket heartbeat (Phoenix ping, not a lease renewal) interval in ms (supabase-js default 25 s); a missed reply means reconnect. */
  socketHeartbeatIntervalMs?: number;
}

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;
export const DEFAULT_SOCKET_HEARTBEAT_INTERVAL_MS = 25_000;

export interface ResolvedOptions {
  url: string;
  serviceRoleKey: string;
  logger: Logger;
  realtime: boolean;
  realtimeWakeUps: RealtimeWakeUpMode;
  rpcTimeoutMs: number;
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
  const realtimeWakeUps = options.realtimeWakeUps ?? 'postgres_changes';
  if (realtimeWakeUps !== 'postgres_changes' && realtimeWakeUps !== 'broadcast') {
    throw new TypeError("realtimeWakeUps must be 'postgres_changes' or 'broadcast'");
  }
  const rpcTimeoutMs = options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  if (!(rpcTimeoutMs > 0)) throw new TypeError('rpcTimeoutMs must be a positive number');
  const socketHeartbeatIntervalMs = options.socketHeartbeatIntervalMs ?? DEFAULT_SOCKET_HEARTBEAT_INTERVAL_MS;
  if (!(socketHeartbeatIntervalMs > 0)) throw new TypeError('socketHeartbeatIntervalMs must be a positive number');
  return Object.freeze({
    url: options.url,
    serviceRoleKey: options.serviceRoleKey,
    logger: options.logger ?? createLogger({ level: 'silent', pretty: false }),
    realtime: options.realtime ?? true,
    realtimeWakeUps,
    rpcTimeoutMs,
    socketHeartbeatIntervalMs,
  });
}
