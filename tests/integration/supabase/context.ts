/**
 * Shared set-up of the supabase tests: a migrated database with the stand-in in front of it, and
 * real supabase-js clients on it. Everything is closed when the file's tests end (an open
 * Realtime client would keep reconnecting and keep the test process alive).
 */
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import { after } from 'node:test';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { startSupabaseStandIn, type StandInOptions, type SupabaseStandIn } from '../../support/supabase-standin/index.js';

export interface StandInContext {
  db: TestDatabase;
  standIn: SupabaseStandIn;
  /** A supabase-js client on the stand-in with this key (and options), closed after the file. */
  client(key: string, options?: SupabaseClientOptions<'public'>): SupabaseClient;
  /** Registers something to close before the stand-in stops (drivers). */
  cleanup(close: () => Promise<unknown>): void;
}

/**
 * Call at the top level of a test file (an after() inside a before() hook would run right after it).
 * Each call makes a database of its own (one stand-in per database).
 */
export async function withStandIn(options: Omit<StandInOptions, 'databaseUrl'> = {}): Promise<StandInContext> {
  const db = await createTestDatabase({ autoDrop: false });
  const standIn = await startSupabaseStandIn({ ...options, databaseUrl: db.url });
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    await Promise.allSettled(closers.map((close) => close()));
    await standIn.stop();
    await db.drop();
  });
  return {
    db,
    standIn,
    client(key, options = {}) {
      const client = createClient(standIn.url, key, {
        ...options,
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, ...options.auth },
        realtime: { transport: WebSocket as never, ...options.realtime },
      });
      // removeAllChannels() leaves a 10 s timer behind in supabase-js: only for clients that used Realtime.
      closers.push(async () => {
        if (client.realtime.getChannels().length > 0 || client.realtime.isConnected()) await client.removeAllChannels();
      });
      return client;
    },
    cleanup(close) {
      closers.push(close);
    },
  };
}
