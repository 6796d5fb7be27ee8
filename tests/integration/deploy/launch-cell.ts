/**
 * One cell of the launch × stop matrix: a worker started the way users start it (npm start, npx,
 * node, pm2-runtime, the Dockerfile's CMD), a job running, then stopped the way they stop it (a
 * SIGTERM to the launched PID, to its process group, or Ctrl-C typed in a terminal, tmux's).
 * Every process of a cell carries a marker variable, so that what is left afterwards is found.
 */
import { spawn } from 'node:child_process';
import { open, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../support/test-server.js';
import { jsonLines } from '../../support/worker-process.js';
import { childEnv, run, waitFor } from './commands.js';

export type Stop = 'pid' | 'group' | 'ctrl-c';

export interface Launcher {
  name: string;
  cwd: string;
  command: string[];
  /** A database URL; without one the cell runs on the embedded default. */
  databaseUrl?: string;
  env?: Record<string, string>;
}

export interface CellResult {
  /** How the launching command ended: its exit code, or the signal that killed it. */
  exit: number | NodeJS.Signals | null;
  /** The JSON lines the worker wrote. */
  lines: Record<string, unknown>[];
  output: string;
  /** Processes of the cell still running once its launcher and worker have ended (pid, command). */
  leftovers: string[];
}

export interface CellOptions {
  launcher: Launcher;
  stop: Stop;
  /** Send the stop again once the drain is under way, a second apart: the forced stop. */
  twice?: boolean;
  tasksDir: string;
  scratch: string;
}

let cells = 0;

export async function runCell(options: CellOptions): Promise<CellResult> {
  const { launcher, stop, scratch } = options;
  const id = `${launcher.name.replace(/\W+/g, '-')}-${stop}${options.twice ? '-twice' : ''}-${++cells}`;
  const [healthPort, embeddedPort] = [await freePort(), await freePort()];
  const env = childEnv({
    SUPAJOBS_TEST_CELL: id,
    TERM: 'xterm',
    PM2_HOME: path.join(scratch, `${id}.pm2`),
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HEALTH_CHECK_PORT: String(healthPort),
    HEALTH_CHECK_HOST: '127.0.0.1',
    EMBEDDED_PORT: String(embeddedPort),
    EMBEDDED_DIR: `.supajobs-${id}`,
    TASKS_DIR: options.tasksDir,
    POLL_INTERVAL_MS: '200',
    MONITOR_INTERVAL_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '60000',
    ...(launcher.databaseUrl ? { DATABASE_URL: launcher.databaseUrl } : {}),
    ...launcher.env,
  });
  for (const name of ['SUPABASE_URL', 'TRANSPORT', ...(launcher.databaseUrl ? [] : ['DATABASE_URL'])]) delete env[name];
  const logFile = path.join(scratch, `${id}.log`);
  const exitFile = path.join(scratch, `${id}.exit`);
  const socket = path.join(scratch, `${id}.tmux`);
  const tmux = (...args: string[]) => run('tmux', ['-S', socket, ...args], { env });

  let exit: { code: number | NodeJS.Signals | null } | undefined;
  let launchedPid = 0;
  if (stop === 'ctrl-c') {
    // An interactive shell, as in a terminal: the command is its foreground job. The subshell's
    // trap lets it record the command's exit code after a Ctrl-C.
    const started = await tmux('new-session', '-d', '-x', '200', '-y', '50', '-c', launcher.cwd, 'bash --norc --noprofile -i');
    if (started.code !== 0) throw new Error(`tmux: ${started.stderr}`);
    await tmux('send-keys', `(trap : INT; ${launcher.command.join(' ')} >> ${logFile} 2>&1; echo $? > ${exitFile})`, 'Enter');
  } else {
    const log = await open(logFile, 'a');
    const child = spawn(launcher.command[0] as string, launcher.command.slice(1), { cwd: launcher.cwd, env, detached: true, stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    launchedPid = child.pid as number;
    child.on('exit', (code, signal) => (exit = { code: code ?? signal }));
  }
  const output = () => readFile(logFile, 'utf8').catch(() => '');
  const exited = async () => {
    if (stop !== 'ctrl-c') return exit !== undefined;
    const text = await readFile(exitFile, 'utf8').catch(() => '');
    if (text) exit = { code: Number(text.trim()) };
    return exit !== undefined;
  };
  const signal = async () => {
    if (stop === 'ctrl-c') await tmux('send-keys', 'C-c');
    else process.kill(stop === 'group' ? -launchedPid : launchedPid, 'SIGTERM');
  };

  try {
    await waitFor(`${id}: /ready`, async () => {
      if (await exited()) throw new Error(`${id}: the launcher exited (${exit?.code}) before the worker was ready:\n${await output()}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/ready`).catch(() => undefined))?.status === 200;
    }, 120_000);
    const db = new pg.Client({ connectionString: launcher.databaseUrl ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres` });
    await db.connect();
    try {
      const ms = options.twice ? 600_000 : 2_000;
      const { rows } = await db.query<{ id: string }>("select enqueue_job('hold', jsonb_build_object('ms', $1::int)) as id", [ms]);
      await waitFor(`${id}: the job to run`, async () => (await db.query('select status from jobs where id = $1', [rows[0]?.id])).rows[0]?.status === 'processing');
    } finally {
      await db.end();
    }
    await signal();
    if (options.twice) {
      await waitFor(`${id}: the drain`, async () => (await output()).includes('"msg":"draining running jobs"'));
      await sleep(1_100); // later than the same stop request delivered twice (SAME_STOP_REQUEST_MS)
      await signal();
    }
    await waitFor(`${id}: the launcher to exit`, exited, 90_000);
    // A launcher may exit before its worker (npm whose shell was killed): give the worker its drain.
    const leftovers = async () => (await cellProcesses(id)).filter((p) => !/^\d+ (tmux|bash)\b/.test(p));
    await waitFor(`${id}: the worker and its database to end`, async () => (await leftovers()).length === 0, 30_000).catch(() => undefined);
    const text = await output();
    return { exit: exit?.code ?? null, output: text, lines: jsonLines(text), leftovers: await leftovers() };
  } finally {
    if (stop === 'ctrl-c') await tmux('kill-server');
    for (const line of await cellProcesses(id)) {
      // A process may end between being listed and being killed (ESRCH): it is gone either way.
      try {
        process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    // As root in a private folder, the data went where the postgres user can enter (its log line says where).
    for (const line of jsonLines(await output())) {
      if (typeof line.dataDir === 'string' && !line.dataDir.startsWith(launcher.cwd)) await rm(line.dataDir, { recursive: true, force: true });
    }
  }
}


/** "pid comm" of every process whose environment carries this cell's marker. */
async function cellProcesses(id: string): Promise<string[]> {
  const marker = `SUPAJOBS_TEST_CELL=${id}\0`;
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    if (!environ.includes(marker)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '?')).trim();
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    const ppid = (await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ')[1];
    found.push(`${entry} ${comm} (ppid ${ppid}: ${cmdline})`);
  }
  return found;
}

/** Runs the tasks with at most `limit` at a time. */
export async function inBatches<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}
