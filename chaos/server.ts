/**
 * The PostgreSQL a chaos run uses: CHAOS_DATABASE_URL's server, or an embedded server started for
 * the run in a temporary folder (deleted after). Every scenario gets a fresh database. The
 * embedded server can be restarted (pg-restart); a given server only when it is on this machine
 * and the run was told it may (--allow-service-restart), through its own pg_ctl.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { openDatabaseServer, withClient as withServerClient, type DatabaseServer } from '../tests/support/database-server.js';

/** Room for every worker's pool, LISTEN and ledger connections, and what pool-exhaustion holds. */
const EMBEDDED_SETTINGS = { max_connections: 100 };
export const HARNESS_APPLICATION_NAME = 'supajobs-chaos';

export interface ChaosServer extends Pick<DatabaseServer, 'kind' | 'address' | 'version' | 'maxConnections' | 'createDatabase' | 'dropDatabase' | 'stop'> {
  /** Why restart() cannot be used, or undefined when it can. */
  restartUnavailable: string | undefined;
  /** Stops PostgreSQL, waits downMs, starts it again; resolves once it accepts connections. */
  restart(downMs: number): Promise<void>;
}

export async function openChaosServer(options: { givenUrl?: string; allowServiceRestart: boolean }): Promise<ChaosServer> {
  const server = await openDatabaseServer({
    givenUrl: options.givenUrl,
    settings: EMBEDDED_SETTINGS,
    prefix: 'supajobs_chaos',
    applicationName: HARNESS_APPLICATION_NAME,
  });
  const { embedded } = server;
  const local = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(new URL(server.url).hostname);
  const restartUnavailable = embedded
    ? undefined
    : !local
      ? 'CHAOS_DATABASE_URL is not on this machine'
      : !options.allowServiceRestart
        ? "CHAOS_DATABASE_URL's server runs on this machine, perhaps as a shared service; pass --allow-service-restart to restart it"
        : undefined;
  return {
    kind: server.kind,
    address: server.address,
    version: server.version,
    maxConnections: server.maxConnections,
    restartUnavailable,
    createDatabase: (label) => server.createDatabase(label),
    dropDatabase: (url) => server.dropDatabase(url),
    async restart(downMs) {
      if (restartUnavailable) throw new Error(restartUnavailable);
      if (embedded) {
        await embedded.stopPostgres();
        await sleep(downMs);
        await embedded.startPostgres();
      } else {
        await restartLocalService(server.url);
      }
    },
    stop: () => server.stop(),
  };
}

export function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  return withServerClient(url, use, HARNESS_APPLICATION_NAME);
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
