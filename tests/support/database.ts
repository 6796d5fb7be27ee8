import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/migrate.js';

/**
 * A database of its own for one test file, on the server of TEST_DATABASE_URL (set by tests/run.ts
 * to an embedded server when the caller gave none), with the migrations applied. It is dropped
 * when the file's tests end.
 */
export interface TestDatabase {
  name: string;
  url: string;
  /** A pool on this database, as the owner (superuser). */
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
export async function createTestDatabase(options: { migrate?: boolean; autoDrop?: boolean } = {}): Promise<TestDatabase> {
  const name = `supajobs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  if (options.migrate !== false) await migrate(url);
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
  return { name, url, pool, drop, onDrop: (cleanup) => void cleanups.push(cleanup) };
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
