import type { Config } from '../config.js';
import { EmbeddedPostgres } from '../embedded/server.js';
import { redactUrl, type Logger } from '../logger.js';
import { migrate } from '../migrate.js';
import type { ShutdownCoordinator } from '../shutdown.js';
import type { Driver } from './driver.js';
import { PostgresDriver } from './postgres/driver.js';
import type { SupabaseDriver } from './supabase/driver.js';

/**
 * The driver the config asks for. The embedded default first starts its PostgreSQL (stopped last
 * at shutdown); postgres and embedded apply the migrations when MIGRATE_ON_START is on (the
 * supabase transport cannot: its migrations are applied with the Supabase CLI).
 */
export async function createDriver(config: Readonly<Config>, logger: Logger, shutdown: ShutdownCoordinator): Promise<Driver> {
  if (config.transport === 'supabase') return createSupabaseDriver(config, logger, { realtime: true });
  let url: string;
  if (config.transport === 'embedded') {
    const server = new EmbeddedPostgres({ dir: config.embedded.dir, port: config.embedded.port });
    await server.start();
    shutdown.add({ name: 'embedded PostgreSQL', stop: () => server.stop() });
    url = server.url;
    logger.info(
      { database: url, dataDir: server.dataDir },
      `embedded PostgreSQL ready; from another terminal: npx supajobs enqueue echo '{"hello":"world"}' (or psql ${url})`,
    );
  } else {
    url = config.databaseUrl as string;
  }
  if (config.migrateOnStart) {
    const { applied } = await migrate(url, { logger });
    if (applied.length > 0) logger.info({ applied, database: redactUrl(url) }, 'applied migrations');
  }
  return new PostgresDriver({
    connectionString: url,
    logger,
    poolSize: config.databasePoolSize,
    listenCheckIntervalMs: config.listenCheckIntervalMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
  });
}

/** Loaded on demand: supabase-js costs start-up time the other transports need not pay. */
export async function createSupabaseDriver(config: Readonly<Config>, logger: Logger, options: { realtime: boolean }): Promise<SupabaseDriver> {
  const { SupabaseDriver } = await import('./supabase/driver.js');
  return new SupabaseDriver({
    url: config.supabaseUrl as string,
    serviceRoleKey: config.supabaseServiceRoleKey as string,
    logger,
    realtime: options.realtime,
  });
}
