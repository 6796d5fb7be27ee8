import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listMigrations, migrate } from '../../../src/migrate.js';
import { createTestDatabase } from '../../support/database.js';

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
