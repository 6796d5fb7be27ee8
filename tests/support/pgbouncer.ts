import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './test-server.js';

const PGBOUNCER = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** `url` with host and port replaced by PgBouncer's (same user, database, query). */
  urlFor(url: string): string;
  stop(): Promise<void>;
}

/** Why PgBouncer cannot run here, or undefined when it can (the tests skip with this reason). */
export async function pgbouncerMissing(): Promise<string | undefined> {
  try {
    await access(PGBOUNCER);
    return undefined;
  } catch {
    return `PgBouncer not installed (${PGBOUNCER}; Debian: apt-get install pgbouncer)`;
  }
}

/**
 * A real PgBouncer in transaction mode on a free port, in front of the server of `serverUrl`
 * (any database), with a small pool so backends are shared between clients as in production. It
 * refuses to run as root, so as root it drops to the `postgres` OS user (-u).
 */
export async function startPgBouncer(serverUrl: string, options: { poolSize?: number } = {}): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-pgbouncer-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  await writeFile(path.join(dir, 'users.txt'), `"${user}" "${password.replaceAll('"', '""')}"\n`, { mode: 0o644 });
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir =",
      'pool_mode = transaction',
      `auth_type = ${password ? 'plain' : 'trust'}`,
      `auth_file = ${path.join(dir, 'users.txt')}`,
      `default_pool_size = ${options.poolSize ?? 3}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options,application_name',
      'server_reset_query =',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  await waitForPort(port, child, () => stderr);
  return {
    urlFor(url: string) {
      const target = new URL(url);
      target.hostname = '127.0.0.1';
      target.port = String(port);
      return target.toString();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`pgbouncer did not listen on ${port}: ${stderr()}`);
}
