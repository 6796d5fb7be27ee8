import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { pgModule } from './drivers/postgres/pg-module.js';
import { withoutPoolerFlag } from './drivers/postgres/pooler.js';
import { MigrationLockTimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import { cliHistoryExists, cliVersions, createCliHistory, recordInCliHistory } from './supabase-cli-history.js';

/** supabase/ of this package: two levels up from src/ (tsx) and from dist/ (built) alike. */
export const SUPABASE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'supabase');

export interface MigrateResult {
  /** Versions applied (or adopted from the Supabase CLI's history) by this call, oldest first. */
  applied: string[];
  /** Whether the plain-PostgreSQL bootstrap ran (false on Supabase). */
  bootstrapped: boolean;
}

export interface MigrateOptions {
  /** Where "waiting for the migration lock" and the server's warnings go. */
  logger?: Logger;
  /** Give up waiting for another migrator after this long (ms). */
  lockTimeoutMs?: number;
}

interface Migration {
  version: string;
  name: string;
  file: string;
}

const MIGRATION_FILE = /^(\d{14})_(.+)\.sql$/;
// Any fixed number: serialises concurrent migrators (several workers starting at once).
const MIGRATE_LOCK_KEY = 7_231_004;
/** How long a migrator waits for another one to finish before giving up (ms). */
export const MIGRATE_LOCK_TIMEOUT_MS = 5 * 60_000;

export async function listMigrations(dir = path.join(SUPABASE_DIR, 'migrations')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  return files.map((file) => {
    const [, version, name] = MIGRATION_FILE.exec(file) as RegExpExecArray;
    return { version: version as string, name: name as string, file: path.join(dir, file) };
  });
}

/**
 * Applies the bootstrap (plain PostgreSQL only) and every migration not applied yet, each in its
 * own transaction, recording them in supajobs.migrations and, where the Supabase CLI keeps its
 * history (always on Supabase), in supabase_migrations.schema_migrations too, so `supabase db
 * push` and `supajobs migrate` work in either order. Idempotent and safe to call from many
 * processes at once, also through a transaction pooler: each transaction takes a
 * transaction-scoped advisory lock, which ends with it and cannot stay behind on a pooled backend.
 */
export async function migrate(connectionString: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const client = new pgModule.Client({ connectionString: withoutPoolerFlag(connectionString) });
  client.on('notice', (notice) => {
    if (notice.severity === 'WARNING') options.logger?.warn({ notice: notice.message }, 'database warning during migrate');
  });
  await client.connect();
  const migrations = await listMigrations();
  try {
    // The common case at every worker start: nothing to do, so no lock and no bootstrap.
    if (await allRecorded(client, migrations.map((m) => m.version))) return { applied: [], bootstrapped: false };
    const onSupabase = await isSupabase(client);
    await locked(client, options, async () => {
      if (!onSupabase) await client.query(await readFile(path.join(SUPABASE_DIR, 'bootstrap', 'plain-postgres.sql'), 'utf8'));
      await client.query(`
        create schema if not exists supajobs;
        revoke all on schema supajobs from public;
        create table if not exists supajobs.migrations (
          version    text primary key,
          name       text not null,
          applied_at timestamptz not null default now()
        );`);
      if (onSupabase) await createCliHistory(client);
    });
    const applied: string[] = [];
    for (const migration of migrations) {
      const sql = await readFile(migration.file, 'utf8');
      const done = await locked(client, options, () => applyOne(client, migration, sql));
      if (done) applied.push(migration.version);
    }
    return { applied, bootstrapped: !onSupabase };
  } finally {
    await client.end();
  }
}

/** One migration, inside the locked transaction: run unless recorded; false if another migrator did it. */
async function applyOne(client: pg.Client, migration: Migration, sql: string): Promise<boolean> {
  const ours = await client.query('select 1 from supajobs.migrations where version = $1', [migration.version]);
  const cli = await cliVersions(client);
  if (ours.rowCount) {
    // Applied before supajobs wrote the CLI's history: record it there now.
    if ((await cliHistoryExists(client)) && !cli.has(migration.version)) {
      await recordInCliHistory(client, migration.version, migration.name, sql);
    }
    return false;
  }
  try {
    if (!cli.has(migration.version)) await client.query(sql);
  } catch (error) {
    throw new Error(`migration ${path.basename(migration.file)} failed: ${(error as Error).message}`, { cause: error });
  }
  await client.query('insert into supajobs.migrations (version, name) values ($1, $2)', [migration.version, migration.name]);
  if ((await cliHistoryExists(client)) && !cli.has(migration.version)) {
    await recordInCliHistory(client, migration.version, migration.name, sql);
  }
  return true;
}

/**
 * Runs work in a transaction holding the migration lock. The lock is transaction-scoped: it ends
 * with the transaction, on whichever backend a pooler gave it, and is never unlocked by hand.
 */
async function locked<T>(client: pg.Client, options: MigrateOptions, work: () => Promise<T>): Promise<T> {
  const timeoutMs = options.lockTimeoutMs ?? MIGRATE_LOCK_TIMEOUT_MS;
  await client.query('begin');
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [MIGRATE_LOCK_KEY]);
    if (!rows[0]?.ok) {
      options.logger?.info({ lockTimeoutMs: timeoutMs }, 'waiting for the migration lock (another migrate is running)');
      await client.query(`set local lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
      try {
        await client.query('select pg_advisory_xact_lock($1)', [MIGRATE_LOCK_KEY]);
      } catch (error) {
        if ((error as { code?: string }).code === '55P03') throw new MigrationLockTimeoutError(timeoutMs, { cause: error });
        throw error;
      }
      await client.query('set local lock_timeout to default');
    }
    const result = await work();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

async function allRecorded(client: pg.Client, versions: string[]): Promise<boolean> {
  const table = await client.query<{ exists: boolean }>("select to_regclass('supajobs.migrations') is not null as exists");
  if (!table.rows[0]?.exists) return false;
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from supajobs.migrations where version = any($1::text[])', [versions]);
  if (rows[0]?.n !== versions.length) return false;
  // The CLI's history must know them too, or `supabase db push` would run them again.
  if (!(await cliHistoryExists(client))) return !(await isSupabase(client));
  const cli = await cliVersions(client);
  return versions.every((v) => cli.has(v));
}

async function isSupabase(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ supabase: boolean }>(
    "select to_regclass('auth.users') is not null as supabase",
  );
  return rows[0]?.supabase === true;
}
