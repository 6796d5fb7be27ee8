/**
 * The PostgreSQL the benchmark runs on: the one given (--database-url, BENCH_DATABASE_URL), or an
 * embedded server started for the run in a temporary folder and deleted after. Every system gets a
 * database of its own, created here and dropped after its run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../../src/embedded/server.js';
import { freePort } from '../../tests/support/test-server.js';

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
  let url = givenUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-bench-pg-'));
    const server = new EmbeddedPostgres({ dir, port: await freePort(), settings: EMBEDDED_SETTINGS });
    try {
      await server.start();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    url = server.url;
    stopEmbedded = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const { rows } = await admin.query<{ version: string; preload: string }>(
    "select current_setting('server_version') as version, current_setting('shared_preload_libraries') as preload",
  );
  const version = rows[0]?.version ?? 'unknown';
  const statementStats = (rows[0]?.preload ?? '').split(',').some((lib) => lib.trim() === 'pg_stat_statements');
  const base = new URL(url);
  const created = new Set<string>();
  let counter = 0;

  return {
    kind: givenUrl ? 'given' : 'embedded',
    version,
    address: base.host,
    statementStats,
    async createDatabase(label) {
      const name = `supajobs_bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${++counter}`;
      await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      await admin.query(`create database ${pg.escapeIdentifier(name)}`);
      created.add(name);
      const dbUrl = new URL(base.href);
      dbUrl.pathname = `/${name}`;
      return dbUrl.href;
    },
    async dropDatabase(dbUrl) {
      const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
      await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      created.delete(name);
    },
    async stop() {
      for (const name of created) await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`).catch(() => undefined);
      await admin.end();
      await stopEmbedded?.();
    },
  };
}
