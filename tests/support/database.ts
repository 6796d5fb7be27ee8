import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/migrate.js';

/**
 * A database of its own for one test file, on the server of TEST_DATABASE_URL (set by tests/run.ts
 * to an embedded server when the caller gave none), with the migrations applied. It is dropped
 * when the file's tests end.
 *
 * Migrated databases are made as Supabase makes a project's (tests/support/supabase-init.sql):
 * its roles, auth schema, publication and default privileges, and the migrations applied by a
 * role that is not a superuser (`supabase_postgres`, as the Supabase CLI applies them as
 * `postgres`). So the grants the suite sees are the ones a Supabase project ends up with.
 */
export interface TestDatabase {
  name: string;
  url: string;
  /** The same database as the role that applied the migrations and owns their objects (not a superuser). */
  ownerUrl: string;
  /** A pool on this database, as the cluster's superuser. */
  pool: pg.Pool;
  /** Closes the pool and drops the database (done for you unless `autoDrop: false`). */
  drop(): Promise<void>;
  /** Runs before the database is dropped, last added first (stop what still uses it). */
  onDrop(cleanup: () => Promise<unknown>): void;
}

export function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * autoDrop (default true) drops the database when the current test ends, through node:test's
 * after(); inside a before() hook pass false and call drop() from your own after().
 */
/** The role the migrations run as on a Supabase-like test database (Supabase's `postgres`). */
export const MIGRATION_ROLE = 'supabase_postgres';

const SUPABASE_INIT = new URL('./supabase-init.sql', import.meta.url);
const NO_AUTO_EXPOSE = new URL('./supabase-no-auto-expose.sql', import.meta.url);

export interface TestDatabaseOptions {
  /** Apply the migrations (default true); false leaves a bare database (plain PostgreSQL). */
  migrate?: boolean;
  autoDrop?: boolean;
  /**
   * Supabase's `[api] auto_expose_new_tables` (default true, Supabase's default privileges);
   * false takes those default privileges back first (tests/support/supabase-no-auto-expose.sql).
   */
  autoExposeNewTables?: boolean;
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `supajobs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const owner = new URL(url);
  owner.username = MIGRATION_ROLE;
  owner.password = '';
  const ownerUrl = owner.toString();
  if (options.migrate !== false) {
    const init = new pg.Client({ connectionString: url });
    await init.connect();
    try {
      await init.query(await readFile(SUPABASE_INIT, 'utf8'));
      if (options.autoExposeNewTables === false) await init.query(await readFile(NO_AUTO_EXPOSE, 'utf8'));
    } finally {
      await init.end();
    }
    await migrate(ownerUrl);
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client whose backend a test terminated is dropped by the pool; the next query opens another.
  pool.on('error', () => undefined);
  const cleanups: (() => Promise<unknown>)[] = [];
  const drop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    if (!pool.ended) await pool.end();
    await dropDatabase(name);
  };
  if (options.autoDrop !== false) after(drop);
  return { name, url, ownerUrl, pool, drop, onDrop: (cleanup) => void cleanups.push(cleanup) };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    // Politely first: a connection still closing should close, not be killed mid-query.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`drop database if exists ${name}${attempt < 10 ? '' : ' with (force)'}`);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await admin.end();
  }
}
