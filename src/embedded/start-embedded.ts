import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { EmbeddedPostgres } from './server.js';

/**
 * Starts the embedded PostgreSQL of config, saying why: chosen as the fallback (no DATABASE_URL
 * or SUPABASE_URL found in the environment or .env) it is a warning, since a library user who
 * meant a real database would otherwise get a private one without a word.
 */
export async function startEmbedded(server: EmbeddedPostgres, config: Readonly<Config>, logger: Logger): Promise<void> {
  const { embeddedDir: dir, embeddedPort: port } = config;
  if (!config.databaseUrl && !config.supabaseUrl) {
    logger.warn({ dir, port }, 'no DATABASE_URL or SUPABASE_URL in the environment or .env: falling back to the embedded PostgreSQL');
  } else {
    logger.info({ dir, port }, 'TRANSPORT=embedded: starting the embedded PostgreSQL');
  }
  await server.start();
  if (path.dirname(server.dataDir) !== dir) {
    logger.info({ dataDir: server.dataDir }, 'the postgres OS user cannot enter EMBEDDED_DIR, so the embedded PostgreSQL keeps its data where it can');
  }
}
