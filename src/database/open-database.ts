import type { Config } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import { PostgresDriver } from '../drivers/postgres/driver.js';
import { EmbeddedPostgres } from '../embedded/server.js';
import { startEmbedded } from '../embedded/start-embedded.js';
import { redactUrl, type Logger } from '../logger.js';
import { migrate } from '../migrate.js';

/**
 * Who opens the database. A worker gets wake-ups and the configured pool; a client (a producer,
 * the library's connect(), a CLI command) gets two connections and no wake-ups.
 */
export type DatabaseUse = 'worker' | 'client';

/** A started driver on the configured database, and what it took to get there. */
export interface Database {
  driver: Driver;
  /** The postgres URL, when the transport has one. */
  url: string | null;
  /** Stops the driver, then the embedded server if this opened it. */
  close(): Promise<void>;
}

/**
 * The one rule for migrations at start: applied when MIGRATE_ON_START is on, by a worker, or by a
 * client that had to start the embedded server itself (a running worker has applied them). Never
 * through the supabase transport: there the Supabase CLI applies supabase/migrations.
 */
export function migrationsDue(config: Pick<Config, 'migrateOnStart'>, use: DatabaseUse, startedEmbeddedServer: boolean): boolean {
  return config.migrateOnStart && (use === 'worker' || startedEmbeddedServer);
}

/**
 * Where the database comes from and which driver talks to it: SUPABASE_URL → the supabase
 * driver; DATABASE_URL → the postgres driver; neither → the embedded PostgreSQL (started here, or
 * the one a running worker started) with the postgres driver. Applies migrations when due, starts
 * the driver, and on any failure closes what it opened before rethrowing.
 */
export async function openDatabase(config: Readonly<Config>, logger: Logger, use: DatabaseUse): Promise<Database> {
  if (config.transport === 'supabase') {
    const driver = await createSupabaseDriver(config, logger, use);
    return started({ driver, url: null, close: () => driver.stop() });
  }
  let server: EmbeddedPostgres | undefined;
  let url = config.databaseUrl as string;
  let startedEmbeddedServer = false;
  try {
    if (config.transport === 'embedded') {
      server = new EmbeddedPostgres({ dir: config.embeddedDir, port: config.embeddedPort });
      await startEmbedded(server, config, logger);
      startedEmbeddedServer = !server.reused;
      url = server.url;
      if (use === 'worker') {
        logger.info(
          { database: url, dataDir: server.dataDir },
          `embedded PostgreSQL ready; from another terminal: npx supajobs enqueue echo '{"hello":"world"}' (or psql ${url})`,
        );
      }
    }
    if (migrationsDue(config, use, startedEmbeddedServer)) {
      const { applied } = await migrate(url, { logger });
      if (applied.length > 0 && use === 'worker') logger.info({ applied, database: redactUrl(url) }, 'applied migrations');
    }
  } catch (error) {
    await server?.stop().catch(() => undefined);
    throw error;
  }
  const driver =
    use === 'worker'
      ? new PostgresDriver({
          connectionString: url,
          logger,
          poolSize: config.databasePoolSize,
          listenCheckIntervalMs: config.listenCheckIntervalMs,
          queryTimeoutMs: config.databaseQueryTimeoutMs,
        })
      : new PostgresDriver({ connectionString: url, logger, poolSize: 2, listen: false });
  return started({
    driver,
    url,
    async close() {
      await driver.stop();
      await server?.stop();
    },
  });
}

async function started(database: Database): Promise<Database> {
  try {
    await database.driver.start();
    return database;
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

/** Loaded on demand: supabase-js costs start-up time the other transports need not pay. */
async function createSupabaseDriver(config: Readonly<Config>, logger: Logger, use: DatabaseUse): Promise<Driver> {
  const { SupabaseDriver } = await import('../drivers/supabase/driver.js');
  return new SupabaseDriver({
    url: config.supabaseUrl as string,
    serviceRoleKey: config.supabaseServiceRoleKey as string,
    logger,
    realtime: use === 'worker',
    realtimeWakeUps: config.realtimeWakeUps,
  });
}
