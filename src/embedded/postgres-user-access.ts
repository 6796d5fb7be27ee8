import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { EmbeddedUnavailableError } from '../errors.js';
import type { PostgresBinaries, RunAs } from './binaries.js';

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must reach its binaries and its data
 * folder. A project in a private folder (mode 0700: `mktemp -d`, /root/app) hides both. Then the
 * binaries are copied once to, and the data kept in, this folder, which that user can enter. The
 * data folder is named after the project's folder, so it is found again at the next start.
 */
export const SHARED_DIR = '/var/lib/supajobs';

/** Whether the OS user of runAs can reach (search, or execute) this path. */
export function canReach(runAs: RunAs, target: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], { ...runAs, stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** The data folder for an EMBEDDED_DIR the postgres user cannot enter. */
export async function sharedDataDir(embeddedDir: string, runAs: Required<RunAs>): Promise<string> {
  const hash = createHash('sha256').update(embeddedDir).digest('hex').slice(0, 12);
  const dir = path.join(SHARED_DIR, `data-${path.basename(path.dirname(embeddedDir))}-${hash}`);
  await makeShared(embeddedDir, dir);
  await chown(dir, runAs.uid, runAs.gid);
  return dir;
}

/** The binaries at a path the postgres user can reach: as installed, or a copy in SHARED_DIR. */
export async function reachableBinaries(binaries: PostgresBinaries, runAs: RunAs, embeddedDir: string): Promise<PostgresBinaries> {
  if (await canReach(runAs, binaries.initdb)) return binaries;
  const nativeDir = path.resolve(binaries.postgres, '..', '..');
  const { name, version } = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const copy = path.join(SHARED_DIR, `${name.replace(/^@/, '').replace('/', '-')}-${version}`);
  const relocate = (file: string) => path.join(copy, path.relative(nativeDir, file));
  const relocated = { initdb: relocate(binaries.initdb), postgres: relocate(binaries.postgres) };
  if (await canReach(runAs, relocated.initdb)) return relocated;
  await makeShared(embeddedDir, SHARED_DIR);
  // Copied under a temporary name and renamed, so a copy cut short is never used.
  const partial = `${copy}.${process.pid}.partial`;
  await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
  await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
    await rm(partial, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error; // another process copied first
  });
  return relocated;
}

async function makeShared(embeddedDir: string, dir: string): Promise<void> {
  try {
    await mkdir(SHARED_DIR, { recursive: true, mode: 0o755 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new EmbeddedUnavailableError(
      `the embedded PostgreSQL runs as the postgres OS user, which cannot enter ${embeddedDir}, and ${SHARED_DIR} cannot be created (${(error as NodeJS.ErrnoException).code}): set EMBEDDED_DIR to a folder it can enter, run as a user other than root, or set DATABASE_URL`,
      { cause: error },
    );
  }
}
