import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { listMigrations, migrate, SUPABASE_DIR } from '../../../src/migrate.js';
import { createTestDatabase } from '../../support/database.js';
import { captureLogs } from '../../support/logs.js';
import { supabaseDbPush } from '../../support/supabase-cli-push.js';

test('migrate applies every migration once and is idempotent', async () => {
  const db = await createTestDatabase({ migrate: false });
  const first = await migrate(db.url);
  const all = (await listMigrations()).map((m) => m.version);
  assert.deepEqual(first.applied, all);
  assert.equal(first.bootstrapped, true);
  const second = await migrate(db.url);
  assert.deepEqual(second.applied, []);
  const { rows } = await db.pool.query('select version from supajobs.migrations order by version');
  assert.deepEqual(rows.map((r) => r.version), all);
});

test('concurrent migrators apply each migration exactly once', async () => {
  const db = await createTestDatabase({ migrate: false });
  const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
  const applied = results.flatMap((r) => r.applied).sort();
  assert.deepEqual(applied, (await listMigrations()).map((m) => m.version));
});

test('migrations recorded by the Supabase CLI are not run again', async () => {
  const db = await createTestDatabase({ migrate: false });
  const versions = (await listMigrations()).map((m) => m.version);
  // Simulate `supabase db push`: the CLI applied the first migration and recorded it.
  await migrate(db.url); // creates the objects
  await db.pool.query('delete from supajobs.migrations');
  await db.pool.query('create schema supabase_migrations; create table supabase_migrations.schema_migrations (version text primary key)');
  for (const v of versions) await db.pool.query('insert into supabase_migrations.schema_migrations values ($1)', [v]);
  const result = await migrate(db.url);
  assert.deepEqual(result.applied, versions);
});

test('a failing migration rolls back and names its file', async () => {
  const db = await createTestDatabase({ migrate: false });
  await db.pool.query('create table public.jobs (id int)'); // collides with the first migration
  await assert.rejects(migrate(db.url), /migration 20\d{12}_jobs_tables\.sql failed/);
  const { rows } = await db.pool.query("select count(*)::int as n from supajobs.migrations");
  assert.equal(rows[0].n, 0);
});

const MIGRATIONS_DIR = path.join(SUPABASE_DIR, 'migrations');

test('supajobs migrate, then supabase db push: the CLI finds every version recorded and applies nothing', async () => {
  const db = await createTestDatabase({ migrate: false });
  // A project whose history table exists (the CLI was used before, or this is Supabase).
  await db.pool.query('create schema supabase_migrations; create table supabase_migrations.schema_migrations (version text not null primary key, statements text[], name text)');
  const ours = await migrate(db.url);
  assert.deepEqual(ours.applied, (await listMigrations()).map((m) => m.version));
  assert.deepEqual(await supabaseDbPush(db.url, MIGRATIONS_DIR), []);
  const { rows } = await db.pool.query('select version, name, array_length(statements, 1) as n from supabase_migrations.schema_migrations order by version');
  assert.deepEqual(rows, (await listMigrations()).map((m) => ({ version: m.version, name: m.name, n: 1 })));
});

test('supabase db push, then supajobs migrate, then db push again: nothing runs twice', async () => {
  const db = await createTestDatabase({ migrate: false });
  // The CLI runs on Supabase, where the roles exist: the bootstrap stands in for them here.
  await db.pool.query(await readFile(path.join(SUPABASE_DIR, 'bootstrap', 'plain-postgres.sql'), 'utf8'));
  const versions = (await listMigrations()).map((m) => m.version);
  assert.deepEqual(await supabaseDbPush(db.url, MIGRATIONS_DIR), versions);
  const ours = await migrate(db.url);
  assert.deepEqual(ours.applied, versions, 'adopted from the CLI, not run again');
  assert.deepEqual((await migrate(db.url)).applied, []);
  assert.deepEqual(await supabaseDbPush(db.url, MIGRATIONS_DIR), []);
});

test('on Supabase (auth.users present) migrate creates the CLI history the way the CLI does', async () => {
  const db = await createTestDatabase({ migrate: false });
  await db.pool.query(await readFile(path.join(SUPABASE_DIR, 'bootstrap', 'plain-postgres.sql'), 'utf8'));
  await db.pool.query('create table auth.users (id uuid primary key)');
  assert.equal((await migrate(db.url)).bootstrapped, false);
  assert.deepEqual(await supabaseDbPush(db.url, MIGRATIONS_DIR), []);
});

test('a database migrated before the CLI history existed gets its versions recorded there on the next migrate', async () => {
  const db = await createTestDatabase({ migrate: false });
  await migrate(db.url);
  await db.pool.query('create schema supabase_migrations; create table supabase_migrations.schema_migrations (version text not null primary key, statements text[], name text)');
  assert.deepEqual((await migrate(db.url)).applied, []);
  assert.deepEqual(await supabaseDbPush(db.url, MIGRATIONS_DIR), []);
});

test('the migration lock: a waiting migrator says so, gives up after its lock timeout, and no lock outlives its transaction', { timeout: 60_000 }, async () => {
  const db = await createTestDatabase({ migrate: false });
  const holder = await db.pool.connect();
  try {
    await holder.query('begin');
    await holder.query('select pg_advisory_xact_lock(7231004)');
    const { logger, lines } = captureLogs();
    await assert.rejects(migrate(db.url, { logger, lockTimeoutMs: 300 }), (error: { code?: string; message: string }) =>
      error.code === 'MIGRATION_LOCK_TIMEOUT' && /waited 300 ms for the migration lock/.test(error.message));
    assert.ok(lines().some((l) => String(l.msg).startsWith('waiting for the migration lock')));
  } finally {
    await holder.query('rollback');
    holder.release();
  }
  await migrate(db.url);
  const { rows } = await db.pool.query(
    "select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 7231004 and database = (select oid from pg_database where datname = current_database())",
  );
  assert.equal(rows[0].n, 0);
});

test('an up-to-date migrate unlocks nothing it never locked (no server warning)', async () => {
  const db = await createTestDatabase();
  const notices: string[] = [];
  const connect = pg.Client.prototype.connect;
  pg.Client.prototype.connect = function (this: pg.Client, ...args: unknown[]) {
    this.on('notice', (n) => notices.push(`${n.severity}: ${n.message}`));
    return (connect as unknown as (...a: unknown[]) => Promise<void>).apply(this, args);
  } as unknown as typeof connect;
  try {
    assert.deepEqual((await migrate(db.url)).applied, []);
  } finally {
    pg.Client.prototype.connect = connect;
  }
  assert.deepEqual(notices.filter((n) => n.startsWith('WARNING')), []);
});
