import path from 'node:path';
import type { Config } from '../config.js';
import { EmbeddedPostgres, runningServerPort } from '../embedded/server.js';
import type { Logger } from '../logger.js';
import { migrate } from '../migrate.js';
import { createSupabaseDriver } from './create-driver.js';
import type { Driver } from './driver.js';
import { PostgresDriver } from './postgres/driver.js';

export interface Connection {
  driver: Driver;
  /** The postgres URL, when the transport has one. */
  databaseUrl: string | null;
  close(): Promise<void>;
}

/**
 * A driver for producers and admin commands, without wake-ups. With no DATABASE_URL or
 * SUPABASE_URL it uses the embedded default: the server a running worker started, or one started
 * (and migrated) for this connection and stopped at close().
 */
export async function openConnection(config: Readonly<Config>, logger: Logger): Promise<Connection> {
  if (config.transport === 'supabase') {
    const driver = await createSupabaseDriver(config, logger, { realtime: false });
    await driver.start();
    return { driver, databaseUrl: null, close: () => driver.stop() };
  }
  let url = config.databaseUrl;
  let server: EmbeddedPostgres | undefined;
  if (config.transport === 'embedded') {
    server = new EmbeddedPostgres({ dir: config.embedded.dir, port: config.embedded.port });
    const running = await runningServerPort(path.join(config.embedded.dir, 'data'));
    await server.start();
    if (running === undefined) await migrate(server.url, { logger });
    url = server.url;
  }
  const driver = new PostgresDriver({ connectionString: url as string, logger, poolSize: 2, listen: false });
  await driver.start();
  return {
    driver,
    databaseUrl: url,
    async close() {
      await driver.stop();
      await server?.stop();
    },
  };
}
