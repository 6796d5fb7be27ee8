/**
 * "A database per run", shared by tests/, bench/ and chaos/: the PostgreSQL server a run uses
 * (the one given, or a throwaway embedded server started in a temporary folder and deleted
 * after), and databases of its own made on it and dropped at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../../src/embedded/server.js';

export interface ThrowawayServer {
  url: string;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
  /** Stops PostgreSQL, keeping its data (an outage). */
  stopPostgres(): Promise<void>;
  /** Starts it again on the same port and data. */
  startPostgres(): Promise<void>;
}

/** A fresh embedded PostgreSQL in a temporary folder, on a free port; stop() deletes it. */
export async function startThrowawayServer(settings: Record<string, string | number>, folderPrefix = 'supajobs-pg-'): Promise<ThrowawayServer> {
  const dir = await mkdtemp(path.join(tmpdir(), folderPrefix));
  const server = new EmbeddedPostgres({ dir, port: await freePort(), settings });
  try {
    await server.start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    stopPostgres: () => server.stop(),
    startPostgres: () => server.start(),
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface DatabaseServer {
  kind: 'given' | 'embedded';
  url: string;
  /** host:port, for reports. */
  address: string;
  /** server_version, e.g. "15.4 (Debian …)". */
  version: string;
  maxConnections: number;
  /** The throwaway server, when one was started. */
  embedded: ThrowawayServer | undefined;
  /** A new empty database named after the label; its URL. */
  createDatabase(label: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  /** Drops every database made here, and stops the throwaway server. */
  stop(): Promise<void>;
}

export interface DatabaseServerOptions {
  /** The server to use; none: a throwaway embedded server with `settings`. */
  givenUrl?: string;
  settings: Record<string, string | number>;
  /** Start of every database name made here, e.g. supajobs_bench. */
  prefix: string;
  applicationName?: string;
}

export async function openDatabaseServer(options: DatabaseServerOptions): Promise<DatabaseServer> {
  const embedded = options.givenUrl ? undefined : await startThrowawayServer(options.settings, `${options.prefix.replace(/_/g, '-')}-pg-`);
  const url = options.givenUrl ?? (embedded as ThrowawayServer).url;
  const base = new URL(url);
  const onServer = <T>(use: (client: pg.Client) => Promise<T>) => withClient(url, use, options.applicationName);
  const settings = await onServer(async (c) => {
    const { rows } = await c.query<{ version: string; max: string }>(
      "select current_setting('server_version') as version, current_setting('max_connections') as max",
    );
    return rows[0];
  });
  const dropByName = (name: string) => onServer((c) => c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
  const created = new Set<string>();
  let counter = 0;
  return {
    kind: embedded ? 'embedded' : 'given',
    url,
    address: base.host,
    version: settings?.version ?? 'unknown',
    maxConnections: Number(settings?.max ?? 100),
    embedded,
    async createDatabase(label) {
      const name = `${options.prefix}_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${++counter}`;
      await dropByName(name);
      await onServer((c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
      created.add(name);
      const dbUrl = new URL(base.href);
      dbUrl.pathname = `/${name}`;
      return dbUrl.href;
    },
    async dropDatabase(dbUrl) {
      const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
      await dropByName(name);
      created.delete(name);
    },
    async stop() {
      for (const name of created) await dropByName(name).catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** One client on url for the length of `use`. */
export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>, applicationName?: string): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
