/**
 * The production install: `npm pack` (the `files` field decides what ships, `prepare` builds
 * dist/), the tarball installed with production dependencies only, `supajobs start` from it on a
 * test database, the Dockerfile's own HEALTHCHECK command against it, then SIGTERM → exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { freePort } from '../../support/test-server.js';
import { PROJECT_DIR, childEnv, run, runOk, waitFor } from './commands.js';
import { dockerHealthcheckCommand } from './deploy-files.js';

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

test('the packed package installs with production dependencies only, serves the Docker HEALTHCHECK and stops on SIGTERM with 0', { timeout: 180_000 }, async () => {
  const scratch = await mkdtemp(path.join(tmpdir(), 'supajobs-pack-'));
  after(() => rm(scratch, { recursive: true, force: true }));

  // Pack a copy of the project, so that `prepare` builds dist/ there and never rewrites the
  // dist/ that other tests may be running at the same time.
  const source = path.join(scratch, 'source');
  const skip = new Set(['node_modules', '.git', 'dist', '.supajobs', 'scratch', 'coverage']);
  await cp(PROJECT_DIR, source, {
    recursive: true,
    filter: (from) => {
      const relative = path.relative(PROJECT_DIR, from);
      const top = relative.split(path.sep)[0] as string;
      return !skip.has(top) && !relative.endsWith('.tgz') && relative !== '.env';
    },
  });
  await symlink(path.join(PROJECT_DIR, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const packed = await runOk('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: source, env: childEnv() });
  const [manifest] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  assert.ok(manifest);
  const files = manifest.files.map((f) => f.path);
  assert.ok(files.includes('dist/cli/main.js'), 'the tarball has dist/cli/main.js (the bin)');
  assert.ok(files.some((f) => /^supabase\/migrations\/\d{14}_.+\.sql$/.test(f)), 'the tarball has supabase/migrations');
  assert.ok(files.includes('supabase/bootstrap/plain-postgres.sql'), 'the tarball has the plain-PostgreSQL bootstrap');
  assert.deepEqual(files.filter((f) => /^(tests|src|scratch|bench)\//.test(f) || f === '.env'), [], 'no tests, sources or local files ship');

  // A fresh project that depends on the tarball, production dependencies only.
  const app = path.join(scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'supajobs-install-check', private: true }));
  await runOk('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', path.join(scratch, manifest.filename)], {
    cwd: app,
    env: childEnv(),
    timeoutMs: 150_000,
  });
  const installed = await readFile(path.join(app, 'package-lock.json'), 'utf8');
  assert.ok(!installed.includes('"node_modules/typescript"'), 'dev dependencies were not installed');

  const db = await createTestDatabase({ migrate: false });
  const port = await freePort();
  const worker = spawn(path.join(app, 'node_modules', '.bin', 'supajobs'), ['start'], {
    cwd: app,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: db.url,
      HEALTH_CHECK_PORT: String(port),
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      MONITOR_INTERVAL_MS: '0',
    },
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
  const PATH = await pathWithWget(scratch);
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
