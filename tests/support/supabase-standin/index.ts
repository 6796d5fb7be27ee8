/**
 * A test-only stand-in for the two Supabase services the supabase transport talks to, in front of
 * a real PostgreSQL database, so that the real supabase-js client can be tested without Docker:
 *
 * - PostgREST: `POST /rest/v1/rpc/<fn>` with JSON named arguments, and `GET`/`POST
 *   /rest/v1/<table>` with plain `select=`, simple filters and `order=`. Each request runs in one
 *   transaction as the role of its JWT (HS256, the project's secret) with `request.jwt.claims`
 *   set, so grants, RLS policies and triggers are really enforced. Results and errors are shaped
 *   as PostgREST shapes them.
 * - Realtime: the Phoenix websocket (`/realtime/v1/websocket`, vsn 2.0.0) with
 *   postgres_changes: join replies with binding ids, the `system` subscribed/error message,
 *   heartbeats, access_token, phx_leave, and per-subscriber change frames checked against the
 *   subscriber's role and claims; and Broadcast from the database (broadcast-from-database.ts):
 *   `realtime.send()` in the database, its messages relayed as binary frames to the channels of
 *   their topic, private channels joined only by tokens RLS lets read the topic.
 * - Faults for tests: drop every socket, close every channel, go silent, fail the next RPC calls;
 *   counters of RPC calls and frames.
 *
 * What it does NOT imitate:
 * - Changes are captured by test-only triggers it installs (schema supabase_standin), not read
 *   from the WAL: a table gets them when the stand-in starts or a channel subscribes to it;
 *   commit_timestamp is the time of the row change; one stand-in per database.
 * - No Kong gateway: no apikey requirement (a request without a token runs as anon), no
 *   rate limits, no new-style `sb_publishable_`/`sb_secret_` keys (JWT keys only), no CORS.
 * - PostgREST: no schema cache (functions and tables are looked up on every request, so no
 *   `NOTIFY pgrst` is needed and never a stale-cache PGRST202); RPC by POST only (no GET RPC);
 *   only the `public` schema; no embedding, column aliases, JSON paths, or/and trees, Range
 *   headers, counts, upserts, PATCH or DELETE; no OpenAPI; no pre-request hook; the role is
 *   switched by a superuser connection (not the `authenticator` role) and limited to anon,
 *   authenticated and service_role; `exp` allows 30 s of skew; PGRST error texts are close to
 *   PostgREST's, not identical.
 * - Changes are ordered by when their rows changed (not by commit), the gap between a join and
 *   "Subscribed to PostgreSQL" is milliseconds (seconds on Supabase), and "silent" affects only
 *   the sockets open at that moment; injected RPC faults happen before the database is reached.
 * - Realtime: Broadcast only from the database (no client sends, acks, self, REST broadcast or
 *   replay); no Presence, `postgres_changes_options` (wait), or vsn 1.0.0; a private join that
 *   may not read is refused at once (Realtime waits 5 s); filters eq, neq and in only; no tenant
 *   limits (message rate, message and change size, channel counts); no token-expiry shutdown of
 *   joined channels (only an invalid access_token push closes a channel, and read access is not
 *   checked again); the server never times out idle sockets.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { anonKey, LOCAL_JWT_SECRET, serviceRoleKey } from '../jwt.js';
import { installBroadcastFromDatabase, isBroadcastRow, MESSAGES_TABLE, mayReadPrivateChannel, relayBroadcasts } from './broadcast-from-database.js';
import { ChangeCapture } from './change-capture.js';
import { ChangeDelivery } from './change-delivery.js';
import { RpcFaults, StandInCounters, type RpcFault } from './faults.js';
import { REALTIME_PUBLICATION, type PostgresChangesBinding } from './postgres-changes.js';
import { REALTIME_PATH, RealtimeServer } from './realtime-server.js';
import type { RequestAuth } from './rest-auth.js';
import { handleRest, send } from './rest-router.js';

export interface SupabaseStandIn {
  /** The project URL to give createClient(), e.g. http://127.0.0.1:54321. */
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  counters: StandInCounters;
  /** The next `count` RPC calls fail with this HTTP status (default 503) or a cut connection. */
  failNextRpc(count: number, fault?: RpcFault): void;
  /** Cuts every websocket (no close frame): clients see an error and reconnect. */
  dropSockets(): void;
  /** Sends phx_close on every joined channel: clients report CLOSED and never rejoin those. */
  closeChannels(): void;
  /** The open sockets stop answering (heartbeats, joins) and delivering; new sockets behave. */
  goSilent(): void;
  readonly socketCount: number;
  readonly channelCount: number;
  stop(): Promise<void>;
}

export interface StandInOptions {
  databaseUrl: string;
  jwtSecret?: string;
  /**
   * Make `realtime.send` and `realtime.messages` in the database when missing, as Supabase has them
   * (default true); false leaves the database as plain PostgreSQL has it: no Broadcast from it.
   */
  broadcastFromDatabase?: boolean;
}

export async function startSupabaseStandIn(options: StandInOptions): Promise<SupabaseStandIn> {
  const jwtSecret = options.jwtSecret ?? LOCAL_JWT_SECRET;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 20, application_name: 'supabase-standin' });
  pool.on('error', () => undefined);
  const counters = new StandInCounters();
  const faults = new RpcFaults();
  const delivery = new ChangeDelivery(pool);
  let realtime: RealtimeServer | undefined;
  const capture = new ChangeCapture({
    pool,
    databaseUrl: options.databaseUrl,
    onChanges: async (changes) => {
      const broadcasts = changes.filter(isBroadcastRow);
      counters.broadcastsRelayed += relayBroadcasts(broadcasts, realtime?.broadcastSubscribers() ?? []);
      const rowChanges = changes.filter((c) => c.schema !== MESSAGES_TABLE.schema || c.table !== MESSAGES_TABLE.table);
      await delivery.deliver(rowChanges, realtime?.subscribers() ?? []);
    },
  });

  const prepareBindings = async (bindings: PostgresChangesBinding[]): Promise<string | null> => {
    const { rows } = await pool.query<{ schemaname: string; tablename: string }>(
      'select schemaname, tablename from pg_publication_tables where pubname = $1',
      [REALTIME_PUBLICATION],
    );
    for (const b of bindings) {
      const tables = rows.filter((r) => (b.schema === '*' || r.schemaname === b.schema) && (b.table === undefined || r.tablename === b.table));
      if (tables.length === 0) {
        return `Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [event: ${b.event}, schema: ${b.schema}, table: ${b.table ?? '*'}, filters: ${b.raw.filter ?? '[]'}]`;
      }
      for (const t of tables) await capture.captureTable(t.schemaname, t.tablename);
    }
    return null;
  };
  const mayReadPrivate = (auth: RequestAuth, subTopic: string) => mayReadPrivateChannel(pool, auth, subTopic);
  realtime = new RealtimeServer({ jwtSecret, counters, prepareBindings, mayReadPrivate });

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/rest/v1/')) {
      void handleRest(request, response, url, { pool, jwtSecret, faults, counters });
    } else {
      send(response, 404, JSON.stringify({ message: 'no Route matched with those values' }));
    }
  });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === REALTIME_PATH) realtime?.handleUpgrade(request, socket, head, url);
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  if (options.broadcastFromDatabase !== false) await installBroadcastFromDatabase(pool);
  await capture.start();
  // Broadcast rows travel the same way as row changes (Realtime reads both by replication).
  if (options.broadcastFromDatabase !== false) await capture.captureTable(MESSAGES_TABLE.schema, MESSAGES_TABLE.table);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const rt = realtime;

  return {
    url: `http://127.0.0.1:${port}`,
    anonKey: anonKey(jwtSecret),
    serviceRoleKey: serviceRoleKey(jwtSecret),
    jwtSecret,
    counters,
    failNextRpc: (count, fault) => faults.failNext(count, fault),
    dropSockets: () => rt.dropSockets(),
    closeChannels: () => rt.closeChannels(),
    goSilent: () => rt.goSilent(),
    get socketCount() {
      return rt.socketCount;
    },
    get channelCount() {
      return rt.channelCount;
    },
    async stop() {
      await rt.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await capture.stop();
      await pool.end();
    },
  };
}
