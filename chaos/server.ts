/**
 * The PostgreSQL a chaos run uses: CHAOS_DATABASE_URL's server, or an embedded server started for
 * the run in a temporary folder (deleted after). Every scenario gets a fresh database. The
 * embedded server can be restarted (pg-restart); a given server only when it is on this machine
 * and the run was told it may (--allow-service-restart), through its own pg_ctl.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/embedded/server.js';
import { freePort } from '../tests/support/test-server.js';

/** Room for every worker's pool, LISTEN and ledger connections, and what pool-exhaustion holds. */
const EMBEDDED_SETTINGS = { max_connections: 100 };
export const HARNESS_APPLICATION_NAME = 'supajobs-chaos';

export interface ChaosServer {
  kind: 'embedded' | 'given';
  /** host:port, for the report. */
  address: string;
  version: string;
  maxConnections: number;
  /** Why restart() cannot be used, or undefined when it can. */
  restartUnavailable: string | undefined;
  createDatabase(label: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  /** Stops PostgreSQL, waits downMs, starts it again; resolves once it accepts connections. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function openChaosServer(options: { givenUrl?: string; allowServiceRestart: boolean }): Promise<ChaosServer> {
  let url = options.givenUrl;
  let embedded: EmbeddedPostgres | undefined;
  let dir: string | undefined;
  if (!url) {
    dir = await mkdtemp(path.join(tmpdir(), 'supajobs-chaos-pg-'));
    embedded = new EmbeddedPostgres({ dir, port: await freePort(), settings: EMBEDDED_SETTINGS });
    try {
      await embedded.start();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    url = embedded.url;
  }
  const base = new URL(url);
  const settings = await withClient(url, async (c) => {
    const { rows } = await c.query<{ version: string; max: string }>(
      "select current_setting('server_version') as version, current_setting('max_connections') as max",
    );
    return rows[0];
  });
  const local = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(base.hostname);
  const restartUnavailable = embedded
    ? undefined
    : !local
      ? 'CHAOS_DATABASE_URL is not on this machine'
      : !options.allowServiceRestart
        ? "CHAOS_DATABASE_URL's server runs on this machine, perhaps as a shared service; pass --allow-service-restart to restart it"
        : undefined;
  const created = new Set<string>();
  let counter = 0;

  return {
    kind: embedded ? 'embedded' : 'given',
    address: base.host,
    version: settings?.version ?? 'unknown',
    maxConnections: Number(settings?.max ?? 100),
    restartUnavailable,
    async createDatabase(label) {
      const name = `supajobs_chaos_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${++counter}`;
      await withClient(url, async (c) => {
        await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
        await c.query(`create database ${pg.escapeIdentifier(name)}`);
      });
      created.add(name);
      const dbUrl = new URL(base.href);
      dbUrl.pathname = `/${name}`;
      return dbUrl.href;
    },
    async dropDatabase(dbUrl) {
      const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
      await withClient(url, (c) => c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
      created.delete(name);
    },
    async restart(downMs) {
      if (restartUnavailable) throw new Error(restartUnavailable);
      if (embedded) {
        await embedded.stop();
        await sleep(downMs);
        await embedded.start();
      } else {
        await restartLocalService(url);
      }
    },
    async stop() {
      for (const name of created) {
        await withClient(url, (c) => c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`)).catch(() => undefined);
      }
      if (embedded) {
        await embedded.stop();
        await rm(dir as string, { recursive: true, force: true });
      }
    },
  };
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: HARNESS_APPLICATION_NAME });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `pg_ctl restart -m fast` of the server behind url, run as the owner of its data directory (the
 * server's recorded options are reused, so a packaged service keeps its config file).
 */
async function restartLocalService(url: string): Promise<void> {
  const { dataDir, binDir } = await withClient(url, async (c) => {
    const { rows } = await c.query<{ data: string; bin: string }>(
      "select current_setting('data_directory') as data, (select setting from pg_config where name = 'BINDIR') as bin",
    );
    return { dataDir: rows[0]?.data as string, binDir: rows[0]?.bin as string };
  });
  const owner = await stat(dataDir);
  const runAs = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'restart'], {
      ...runAs,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl restart failed (${code}): ${stderr.trim()}`))));
  });
}
