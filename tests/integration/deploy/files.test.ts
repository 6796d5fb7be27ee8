/**
 * The deployment files agree with the code: the ports, the bin, the shutdown timeout against the
 * supervisors' kill timeouts, what the image ships. Docker cannot build here, so these read the
 * files; package.test.ts runs the Dockerfile's HEALTHCHECK for real.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULTS } from '../../../src/config.js';
import { PROJECT_DIR, runOk } from './commands.js';
import { composeDurationMs, composeService, dockerHealthcheckCommand, dockerfileStages } from './deploy-files.js';

const packageJson = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = packageJson.bin.supajobs as string;

test('the Dockerfile builds with dev dependencies and runs production ones only, as a non-root user', async () => {
  const stages = await dockerfileStages();
  assert.ok(stages.length >= 2, 'a multi-stage build');
  const [build, runtime] = [stages[0] ?? [], stages.at(-1) ?? []];
  const runs = (stage: typeof build) => stage.filter((i) => i.name === 'RUN').map((i) => i.args);
  assert.ok(runs(build).some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build stage installs dev dependencies');
  assert.ok(runs(build).some((r) => r.includes('npm run build')), 'the build stage runs npm run build');

  assert.match(runtime[0]?.args ?? '', /^node:\$\{NODE_VERSION\}-slim|^node:\d+-slim/);
  assert.ok(runtime.some((i) => i.name === 'ENV' && /NODE_ENV=production/.test(i.args)), 'NODE_ENV=production');
  assert.ok(runs(runtime).some((r) => r.includes('npm ci --omit=dev --omit=optional --ignore-scripts')), 'production dependencies only, without the embedded PostgreSQL');
  const copies = runtime.filter((i) => i.name === 'COPY').map((i) => i.args);
  assert.ok(copies.some((c) => /^--from=build\s+\S*\bdist\s/.test(c)), 'dist/ comes from the build stage');
  assert.ok(copies.some((c) => /^supabase\b/.test(c)), 'the SQL contract (supabase/) is copied');
  const user = runtime.filter((i) => i.name === 'USER').at(-1)?.args;
  assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (USER ${user ?? 'missing'})`);

  const expose = runtime.find((i) => i.name === 'EXPOSE')?.args;
  assert.equal(expose, String(DEFAULTS.healthCheckPort), 'EXPOSE is the default HEALTH_CHECK_PORT');
  const healthcheck = await dockerHealthcheckCommand();
  assert.ok(healthcheck.includes(`\${HEALTH_CHECK_PORT:-${DEFAULTS.healthCheckPort}}/health`), healthcheck);
  assert.ok(runs(runtime).some((r) => /apt-get install .*\b(wget|busybox)\b/.test(r)), 'the runtime image has the HEALTHCHECK tool');
  assert.equal(runtime.find((i) => i.name === 'STOPSIGNAL')?.args, 'SIGTERM');
  const cmd = JSON.parse(runtime.find((i) => i.name === 'CMD')?.args ?? 'null') as string[];
  assert.deepEqual(cmd, ['node', BIN, 'start']);
});

test('.dockerignore keeps secrets, local data and build output out of the build context', async () => {
  const ignored = (await readFile(path.join(PROJECT_DIR, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  for (const entry of ['.env', 'node_modules', 'dist', '.supajobs', '.git']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
});

test('docker-compose.yml: PostgreSQL 17 with a health check, the worker waits for it and gets time to drain', async () => {
  const postgres = await composeService('postgres');
  assert.match(postgres, /image: postgres:17\b/);
  assert.match(postgres, /healthcheck:[\s\S]*pg_isready/);

  const worker = await composeService('worker');
  assert.match(worker, /DATABASE_URL: postgres:\/\/\S+@postgres:5432\//);
  assert.match(worker, /depends_on:\s+postgres:\s+condition: service_healthy/);
  assert.match(worker, /restart: unless-stopped/);
  // `docker compose up --scale worker=4`: a fixed host port would make the second replica fail.
  const published = [...worker.matchAll(/^\s+- "?([^"\n]+)"?$/gm)].map((m) => m[1] as string).filter((p) => /8080$/.test(p));
  assert.ok(published.length > 0, 'the health port is published');
  for (const mapping of published) assert.match(mapping, /^(?:127\.0\.0\.1::|)8080$/, `"${mapping}" publishes a fixed host port`);
  const grace = /stop_grace_period: (\S+)/.exec(worker)?.[1];
  assert.ok(grace, 'the worker has a stop_grace_period');
  const shutdownMs = Number(/SHUTDOWN_TIMEOUT_MS: "?(\d+)"?/.exec(worker)?.[1] ?? DEFAULTS.shutdownTimeoutMs);
  assert.ok(composeDurationMs(grace) > shutdownMs, `stop_grace_period ${grace} is above SHUTDOWN_TIMEOUT_MS ${shutdownMs}`);
});

interface PM2App {
  script: string;
  args: string;
  cwd: string;
  instances: number;
  exec_mode: string;
  wait_ready: boolean;
  listen_timeout: number;
  kill_timeout: number;
  treekill: boolean;
  increment_var?: string;
  env: Record<string, string>;
}

/** The ecosystem file as PM2 would read it: a copy next to the given .env, under the given shell environment. */
async function loadEcosystem(dotenv: string | null, shell: Record<string, string>): Promise<PM2App> {
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-ecosystem-'));
  try {
    await copyFile(path.join(PROJECT_DIR, 'ecosystem.config.cjs'), path.join(dir, 'ecosystem.config.cjs'));
    await symlink(path.join(PROJECT_DIR, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    if (dotenv !== null) await writeFile(path.join(dir, '.env'), dotenv);
    const { stdout } = await runOk(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(require("./ecosystem.config.cjs")))'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...shell },
    });
    const { apps } = JSON.parse(stdout) as { apps: PM2App[] };
    assert.equal(apps.length, 1);
    return { ...(apps[0] as PM2App), cwd: (apps[0] as PM2App).cwd === dir ? '<dir>' : (apps[0] as PM2App).cwd };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('ecosystem.config.cjs: the bin, wait_ready, a kill timeout above SHUTDOWN_TIMEOUT_MS', async () => {
  const app = await loadEcosystem(null, {});
  assert.equal(app.script, BIN);
  assert.equal(app.args, 'start');
  assert.equal(app.cwd, '<dir>', 'runs in the folder of the ecosystem file (where .env is)');
  assert.equal(app.wait_ready, true);
  assert.ok(app.listen_timeout >= 30_000);
  assert.ok(app.kill_timeout > DEFAULTS.shutdownTimeoutMs, `kill_timeout ${app.kill_timeout} > ${DEFAULTS.shutdownTimeoutMs}`);
  assert.equal(app.treekill, false, 'PM2 signals the worker only; it stops its embedded PostgreSQL itself');
  assert.equal(app.instances, 1);
  assert.equal(app.env.NODE_ENV, 'production');
  assert.equal(app.env.HEALTH_CHECK_PORT, String(DEFAULTS.healthCheckPort));

  const longer = await loadEcosystem('SHUTDOWN_TIMEOUT_MS=120000\n', {});
  assert.ok(longer.kill_timeout > 120_000, 'follows SHUTDOWN_TIMEOUT_MS of .env');
});

test('ecosystem.config.cjs: settings from .env, the shell winning; SUPAJOBS_INSTANCES with one health port each', async () => {
  const app = await loadEcosystem('LOG_LEVEL=debug\nHEALTH_CHECK_PORT=9100\nQUEUES=mail\n', { LOG_LEVEL: 'warn', SUPAJOBS_INSTANCES: '3' });
  assert.equal(app.env.LOG_LEVEL, 'warn');
  assert.equal(app.env.QUEUES, 'mail');
  assert.equal(app.env.HEALTH_CHECK_PORT, '9100');
  assert.equal(app.instances, 3);
  assert.equal(app.increment_var, 'HEALTH_CHECK_PORT');
});
