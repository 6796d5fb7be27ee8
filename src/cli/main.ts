#!/usr/bin/env node
import { loadConfig, type Config } from '../config.js';
import { environmentWithDotenv } from '../environment.js';
import { ConfigError } from '../errors.js';
import { createConfiguredLogger, type Logger } from '../logger.js';
import { migrate } from '../migrate.js';
import { openDatabase, type Database } from '../database/open-database.js';
import { QueueClient } from '../queue/client.js';
import { VERSION } from '../version.js';
import { CANCEL_HELP, HISTORY_HELP, PURGE_HELP, RETRY_HELP, cancelCommand, historyCommand, purgeCommand, retryCommand } from './admin.js';
import { UsageError } from './args.js';
import { ENQUEUE_HELP, enqueueCommand } from './enqueue.js';
import { QUEUES_HELP, queuesCommand } from './queues.js';
import { SCHEDULES_HELP, schedulesCommand } from './schedules.js';
import { LIST_HELP, SHOW_HELP, WAIT_HELP, listCommand, showCommand, waitCommand } from './lookups.js';
import { loadTracing } from '../tracing/load.js';
import { startCommand } from './start.js';
import { STATS_HELP, statsCommand } from './stats.js';

const HELP = `supajobs ${VERSION}: background jobs for Supabase and PostgreSQL

  supajobs start                 run the worker (embedded PostgreSQL when no DATABASE_URL/SUPABASE_URL)
  supajobs migrate               apply the SQL contract to DATABASE_URL (or the embedded default)
  ${ENQUEUE_HELP.split('\n').join('\n  ')}
  ${STATS_HELP}
  ${SCHEDULES_HELP.split('\n').join('\n  ')}
  ${QUEUES_HELP.split('\n').join('\n  ')}
  ${SHOW_HELP}
  ${LIST_HELP}
  ${WAIT_HELP}
  ${RETRY_HELP}
  ${CANCEL_HELP}
  ${PURGE_HELP}
  ${HISTORY_HELP}

Configuration comes from the environment and .env (see .env.example).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  // Into process.env too, as tasks of this process may read their own settings from .env.
  Object.assign(process.env, environmentWithDotenv());
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  // One-shot commands log to stderr: their stdout is their answer (an id, a table).
  const logger = createConfiguredLogger(config, { stderr: command !== 'start' });
  if (command === 'start') {
    await startCommand(config, logger);
    return -1; // keeps running; the shutdown coordinator exits
  }
  return runOnce(command, args, config, logger);
}

/** A one-shot command on its own connection. */
async function runOnce(command: string, args: string[], config: Readonly<Config>, logger: Logger): Promise<number> {
  // Every command but migrate goes through the library's QueueClient: one way in for every rule.
  const client = (database: Database) => new QueueClient(database.driver, { maxPayloadBytes: config.maxPayloadBytes });
  let exitCode = 0;
  const commands: Record<string, (database: Database) => Promise<void>> = {
    migrate: async (database) => {
      const { applied } = await migrate(database.url as string, { logger });
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'up to date\n');
    },
    enqueue: async (database) => {
      // Spans only when the OTEL_* variables ask for them (docs/tracing.md); flushed before exit.
      const tracing = await loadTracing(process.env, logger);
      try {
        await enqueueCommand(args, new QueueClient(database.driver, { maxPayloadBytes: config.maxPayloadBytes, tracing }));
      } finally {
        await tracing.flush();
      }
    },
    stats: (database) => statsCommand(args, client(database)),
    schedules: (database) => schedulesCommand(args, client(database)),
    queues: (database) => queuesCommand(args, client(database)),
    retry: (database) => retryCommand(args, client(database)),
    cancel: (database) => cancelCommand(args, client(database)),
    purge: (database) => purgeCommand(args, client(database), { batchSize: config.retentionBatchSize, pauseMs: config.retentionBatchPauseMs }),
    history: (database) => historyCommand(args, client(database)),
    show: (database) => showCommand(args, client(database)),
    list: (database) => listCommand(args, client(database)),
    wait: async (database) => void (exitCode = await waitCommand(args, client(database))),
  };
  const run = commands[command];
  if (!run) {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}\n`);
    return 2;
  }
  if (command === 'migrate' && config.transport === 'supabase') {
    process.stderr.write('migrate needs a database connection: set DATABASE_URL (or apply supabase/migrations with `supabase db push`)\n');
    return 1;
  }
  const database = await openDatabase(config, logger, 'client');
  try {
    await run(database);
    return exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${HELP}\n`);
      return 2;
    }
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
