import type pg from 'pg';

/**
 * The Supabase CLI's migration history, `supabase_migrations.schema_migrations`: the CLI
 * (`supabase db push`, `migration up`, `start`) applies a local file only when its version is
 * not in this table. supajobs reads it (to skip what the CLI applied) and writes to it (so the
 * CLI skips what supajobs applied), with the layout and statements the CLI itself uses.
 */
const CREATE_HISTORY = [
  'create schema if not exists supabase_migrations',
  'create table if not exists supabase_migrations.schema_migrations (version text not null primary key)',
  'alter table supabase_migrations.schema_migrations add column if not exists statements text[]',
  'alter table supabase_migrations.schema_migrations add column if not exists name text',
];

export async function cliHistoryExists(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    "select to_regclass('supabase_migrations.schema_migrations') is not null as exists",
  );
  return rows[0]?.exists === true;
}

/** Creates the history as the CLI does (idempotent): on Supabase, where the CLI will look for it. */
export async function createCliHistory(client: pg.ClientBase): Promise<void> {
  for (const statement of CREATE_HISTORY) await client.query(statement);
}

export async function cliVersions(client: pg.ClientBase): Promise<Set<string>> {
  if (!(await cliHistoryExists(client))) return new Set();
  const { rows } = await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/** Records a migration the way the CLI does; the file's text is kept as its one statement. */
export async function recordInCliHistory(client: pg.ClientBase, version: string, name: string, sql: string): Promise<void> {
  await client.query(
    `insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)
     on conflict (version) do nothing`,
    [version, name, [sql]],
  );
}
