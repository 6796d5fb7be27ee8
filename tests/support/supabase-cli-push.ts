import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/**
 * What `supabase db push` does to a database, for tests (the CLI itself needs Docker and a
 * linked project): create its history table if missing, refuse when the history holds versions
 * the local folder lacks, then apply each local file whose version is not recorded, in its own
 * transaction, recording (version, name, statements). Table layout and order as in the CLI's
 * pkg/migration (history.go, file.go). Returns the versions it applied.
 */
export async function supabaseDbPush(url: string, dir: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("set lock_timeout = '4s'");
    await client.query('create schema if not exists supabase_migrations');
    await client.query('create table if not exists supabase_migrations.schema_migrations (version text not null primary key)');
    await client.query('alter table supabase_migrations.schema_migrations add column if not exists statements text[]');
    await client.query('alter table supabase_migrations.schema_migrations add column if not exists name text');
    const remote = new Set((await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations order by version')).rows.map((r) => r.version));
    const local = (await readdir(dir)).map((f) => /^([0-9]+)_(.*)\.sql$/.exec(f)).filter((m) => m !== null).sort((a, b) => a[1]!.localeCompare(b[1]!));
    const unknown = [...remote].filter((v) => !local.some((m) => m[1] === v));
    if (unknown.length) throw new Error(`Remote migration versions not found in local migrations directory: ${unknown.join(', ')}`);
    const applied: string[] = [];
    for (const [file, version, name] of local) {
      if (remote.has(version!)) continue;
      const sql = await readFile(path.join(dir, file!), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [version, name, [sql]]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
      applied.push(version!);
    }
    return applied;
  } finally {
    await client.end();
  }
}
