/**
 * The PostgreSQL the benchmark runs on (tests/support/database-server.ts): the one given
 * (--database-url, BENCH_DATABASE_URL), or an embedded server started for the run in a temporary
 * folder and deleted after. Every system gets a database of its own, dropped after its run.
 */
import { openDatabaseServer, withClient } from '../../tests/support/database-server.js';

export interface BenchServer {
  /** Where the databases are made: 'given' or 'embedded'. */
  kind: 'given' | 'embedded';
  /** server_version, e.g. "15.4 (Debian …)". */
  version: string;
  /** host:port, for the report. */
  address: string;
  /** Whether pg_stat_statements can be read (loaded through shared_preload_libraries). */
  statementStats: boolean;
  createDatabase(label: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Embedded server settings: PostgreSQL's defaults (durable: fsync and synchronous_commit on) with
 * room for every system's pool, and pg_stat_statements loaded (idle unless asked for).
 */
const EMBEDDED_SETTINGS = {
  max_connections: 200,
  shared_preload_libraries: 'pg_stat_statements',
};

export async function openServer(givenUrl: string | undefined): Promise<BenchServer> {
  const server = await openDatabaseServer({ givenUrl, settings: EMBEDDED_SETTINGS, prefix: 'supajobs_bench' });
  const preload = await withClient(server.url, async (c) => (await c.query<{ preload: string }>("select current_setting('shared_preload_libraries') as preload")).rows[0]?.preload ?? '');
  return {
    kind: server.kind,
    version: server.version,
    address: server.address,
    statementStats: preload.split(',').some((lib) => lib.trim() === 'pg_stat_statements'),
    createDatabase: (label) => server.createDatabase(label),
    dropDatabase: (url) => server.dropDatabase(url),
    stop: () => server.stop(),
  };
}
