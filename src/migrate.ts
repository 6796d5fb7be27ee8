import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** supabase/ of this package: two levels up from src/ (tsx) and from dist/ (built) alike. */
export const SUPABASE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'supabase');

export interface MigrateResult {
  /** Versions applied by this call, oldest first. */
  applied: string[];
  /** Whether the plain-PostgreSQL bootstrap ran (false on Supabase). */
  bootstrapped: boolean;
}

interface Migration {
  version: string;
  name: string;
  file: string;
}

const MIGRATION_FILE = /^(\d{14})_(.+)\.sql$/;
// Any fixed number: serialises concurrent migrators (several workers starting at once).
const MIGRATE_LOCK_KEY = 7_231_004;

export async function listMigrations(dir = path.join(SUPABASE_DIR, 'migrations')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  return files.map((file) => {
    const [, version, name] = MIGRATION_FILE.exec(file) as RegExpExecArray;
    return { version: version as string, name: name as string, file: path.join(dir, file) };
  });
}

/**
 * Applies the bootstrap (plain PostgreSQL only) and every migration not applied yet, each in its
 * own transaction, recording them in supajobs.migrations. Migrations the Supabase CLI already
 * applied (supabase_migrations.schema_migrations) are recorded, not run again. Idempotent and
 * safe to call from many processes at once.
 */
export async function migrate(connectionString: string): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const migrations = await listMigrations();
  try {
    // The common case at every worker start: nothing to do, so no lock and no bootstrap.
    if (await allRecorded(client, migrations.map((m) => m.version))) return { applied: [], bootstrapped: false };
    await client.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    const onSupabase = await isSupabase(client);
    if (!onSupabase) {
      await client.query(await readFile(path.join(SUPABASE_DIR, 'bootstrap', 'plain-postgres.sql'), 'utf8'));
    }
    await client.query(`
      create schema if not exists supajobs;
      revoke all on schema supajobs from public;
      create table if not exists supajobs.migrations (
        version    text primary key,
        name       text not null,
        applied_at timestamptz not null default now()
      );`);
    const done = new Set(await appliedVersions(client));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      const sql = await readFile(migration.file, 'utf8');
      await client.query('begin');
      try {
        if (!done.has(`cli:${migration.version}`)) await client.query(sql);
        await client.query('insert into supajobs.migrations (version, name) values ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`migration ${path.basename(migration.file)} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      applied.push(migration.version);
    }
    return { applied, bootstrapped: !onSupabase };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function allRecorded(client: pg.Client, versions: string[]): Promise<boolean> {
  const table = await client.query<{ exists: boolean }>("select to_regclass('supajobs.migrations') is not null as exists");
  if (!table.rows[0]?.exists) return false;
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from supajobs.migrations where version = any($1::text[])', [versions]);
  return rows[0]?.n === versions.length;
}

async function isSupabase(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ supabase: boolean }>(
    "select to_regclass('auth.users') is not null as supabase",
  );
  return rows[0]?.supabase === true;
}

/** Versions recorded by us, plus those the Supabase CLI applied (prefixed `cli:`). */
async function appliedVersions(client: pg.Client): Promise<string[]> {
  const ours = await client.query<{ version: string }>('select version from supajobs.migrations');
  const versions = ours.rows.map((r) => r.version);
  const cli = await client.query<{ exists: boolean }>(
    "select to_regclass('supabase_migrations.schema_migrations') is not null as exists",
  );
  if (cli.rows[0]?.exists) {
    const rows = await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
    versions.push(...rows.rows.map((r) => `cli:${r.version}`));
  }
  return versions;
}
