import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { VERSION } from '../../version.js';

type WebSocketConstructor = NonNullable<NonNullable<Parameters<typeof createClient>[2]>['realtime']>['transport'];

/**
 * A supabase-js client for a worker: no session (the service key is both the Bearer token and the
 * Realtime token), nothing persisted or refreshed, and the `ws` package as the WebSocket (Node 20
 * has none built in, and createClient() throws without one even if Realtime is never used).
 */
export function createWorkerClient(url: string, serviceRoleKey: string, options: { socketHeartbeatIntervalMs: number }): SupabaseClient {
  return createClient(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as WebSocketConstructor, heartbeatIntervalMs: options.socketHeartbeatIntervalMs },
    global: { headers: { 'X-Client-Info': `supajobs/${VERSION}` } },
  });
}
