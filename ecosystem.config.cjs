// PM2: `npm run build && npx pm2 start ecosystem.config.cjs`. `npx pm2 reload supajobs` drains
// and restarts each process in turn: running jobs finish (or are released), none is lost.
//
// Settings come from .env in this folder, as for `supajobs start`; a variable set in the shell
// that runs pm2 wins over the same name in .env. SUPAJOBS_INSTANCES (shell only, default 1) sets
// how many worker processes run; with more than one, set DATABASE_URL or SUPABASE_URL (the
// embedded default is meant for a single process), and process N serves /health on
// HEALTH_CHECK_PORT + N.
//
// Fork mode, not cluster mode: the logger writes straight to file descriptor 1, which PM2 captures
// in fork mode only; a worker has no inbound traffic to balance anyway.
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const { parse } = require('dotenv');

const envFile = path.join(__dirname, '.env');
const fromFile = existsSync(envFile) ? parse(readFileSync(envFile)) : {};
const setting = (name, fallback) => process.env[name] ?? fromFile[name] ?? fallback;

const env = { NODE_ENV: 'production' };
for (const name of Object.keys(fromFile)) env[name] = setting(name);
env.HEALTH_CHECK_PORT = setting('HEALTH_CHECK_PORT', '8080');

const instances = Number(process.env.SUPAJOBS_INSTANCES ?? 1);
const shutdownTimeoutMs = Number(setting('SHUTDOWN_TIMEOUT_MS', 30_000));

module.exports = {
  apps: [
    {
      name: 'supajobs',
      cwd: __dirname,
      script: 'dist/cli/main.js',
      args: 'start',
      exec_mode: 'fork',
      instances,
      ...(instances > 1 ? { increment_var: 'HEALTH_CHECK_PORT' } : {}),
      // `supajobs start` calls process.send('ready') once it serves /health and claims jobs.
      wait_ready: true,
      listen_timeout: 60_000,
      // PM2 stops a process with SIGINT (supajobs treats it as SIGTERM: drain, then exit 0) and
      // sends SIGKILL after kill_timeout: keep it above SHUTDOWN_TIMEOUT_MS so that the drain and
      // the release of unfinished jobs can end first.
      kill_timeout: shutdownTimeoutMs + 5_000,
      // Signal the worker only: it stops the embedded PostgreSQL (its child) itself, last.
      treekill: false,
      // A config error exits 1 at once: back off instead of restarting in a tight loop.
      min_uptime: 10_000,
      max_restarts: 10,
      exp_backoff_restart_delay: 1_000,
      merge_logs: true,
      env,
    },
  ],
};
