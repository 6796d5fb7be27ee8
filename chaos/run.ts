/**
 * `npm run chaos`: real worker processes on a real PostgreSQL under faults, and a ledger of every
 * execution, to check the delivery guarantee (docs/reliability.md): no job lost, stuck or
 * completed twice; re-executions only where a fault allows them.
 *
 *   npm run chaos -- [--jobs 2000] [--workers 3] [--seconds 15] [--scenario all|name[,name]]
 *                    [--settle-seconds 45] [--lease-seconds 5] [--allow-service-restart] [--keep-logs]
 *
 * PostgreSQL: CHAOS_DATABASE_URL's server (a fresh database per scenario), else an embedded
 * server started for the run. Progress goes to stderr; stdout has the table, notes, and as its
 * last line one JSON object. Exit 1 when a scenario fails, 2 on a usage error. The workers' log
 * files are kept when a scenario fails (CHAOS_WORKER_LOG_LEVEL=debug makes them verbose).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { reportJson, reportNotes, reportTable } from './report.js';
import { runScenario, type ScenarioResult } from './scenario-run.js';
import { SCENARIOS } from './scenarios/index.js';
import type { RunOptions } from './scenarios/types.js';
import { openChaosServer } from './server.js';

const HELP = `npm run chaos -- [options]

  --jobs N                 jobs per scenario (default 2000)
  --workers M              worker processes (default 3)
  --seconds S              how long jobs are produced and faults applied (default 15)
  --scenario NAME          all (default), or one or more of: ${SCENARIOS.map((s) => s.name).join(', ')}
  --settle-seconds N       how long after production every job may take to become final
                           (default 45, or 1 s per 200 jobs when more)
  --lease-seconds N        the workers' LEASE_SECONDS (default 5)
  --allow-service-restart  let pg-restart restart CHAOS_DATABASE_URL's local server (pg_ctl)
  --keep-logs              keep the workers' log files even when every scenario passed

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.summary}`).join('\n')}`;

function usage(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}\n`);
  process.exit(2);
}

let flags;
try {
  ({ values: flags } = parseArgs({
    options: {
      jobs: { type: 'string', default: '2000' },
      workers: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '15' },
      scenario: { type: 'string', default: 'all' },
      'settle-seconds': { type: 'string' },
      'lease-seconds': { type: 'string', default: '5' },
      'allow-service-restart': { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  usage((error as Error).message);
}
if (flags.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const whole = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name}: expected a whole number from ${min} to ${max}`);
  return n;
};
const options: RunOptions = {
  jobs: whole('jobs', flags.jobs, 1, 10_000_000),
  workers: whole('workers', flags.workers, 1, 64),
  seconds: whole('seconds', flags.seconds, 3, 3600),
  settleSeconds: flags['settle-seconds'] === undefined ? Math.max(45, Math.ceil(Number(flags.jobs) / 200)) : whole('settle-seconds', flags['settle-seconds'], 5, 3600),
  leaseSeconds: whole('lease-seconds', flags['lease-seconds'], 5, 3600),
  allowServiceRestart: flags['allow-service-restart'],
};
const names = flags.scenario === 'all' ? SCENARIOS.map((s) => s.name) : flags.scenario.split(',').map((s) => s.trim());
const chosen = names.map((name) => SCENARIOS.find((s) => s.name === name) ?? usage(`unknown scenario "${name}"`));

const server = await openChaosServer({ givenUrl: process.env.CHAOS_DATABASE_URL || undefined, allowServiceRestart: options.allowServiceRestart });
const logDir = await mkdtemp(path.join(tmpdir(), 'supajobs-chaos-logs-'));
process.stderr.write(
  `# chaos: ${options.jobs} jobs, ${options.workers} workers, ${options.seconds} s per scenario; PostgreSQL ${server.version} ` +
    `(${server.kind === 'embedded' ? 'embedded' : 'CHAOS_DATABASE_URL'}, ${server.address}); worker logs in ${logDir}\n`,
);

const results: ScenarioResult[] = [];
try {
  for (const scenario of chosen) results.push(await runScenario(scenario, options, server, logDir));
} finally {
  await server.stop();
}

const failed = results.some((r) => r.status === 'fail');
if (!failed && !flags['keep-logs']) await rm(logDir, { recursive: true, force: true });
else process.stderr.write(`# worker logs kept in ${logDir}\n`);

const notes = reportNotes(results);
process.stdout.write(`${reportTable(results)}\n${notes ? `\n${notes}\n` : ''}\n`);
process.stdout.write(
  `${reportJson(
    {
      jobs: options.jobs,
      workers: options.workers,
      seconds: options.seconds,
      leaseSeconds: options.leaseSeconds,
      server: `PostgreSQL ${server.version} (${server.kind})`,
      cpus: availableParallelism(),
    },
    results,
  )}\n`,
);
process.exit(failed ? 1 : 0);
