/**
 * The launchers of the launch × stop matrix, over one installed package: the repository's
 * `npm start` (each cell on a copy of its own, as it builds), `npx supajobs start` and `node <bin>
 * start` in an app that installed the tarball, pm2-runtime with ecosystem.config.cjs, and the
 * Dockerfile's CMD in its runtime stage (on a database URL: the image has no embedded PostgreSQL).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestDatabase } from '../../support/database.js';
import { dockerfileStages } from './deploy-files.js';
import { copyProject, type InstalledPackage } from './installed-package.js';
import type { Launcher } from './launch-cell.js';

export type LauncherName = 'npm start' | 'npx supajobs start' | 'node <bin> start' | 'pm2-runtime' | 'Dockerfile CMD';

let copies = 0;

export async function launcher(name: LauncherName, pkg: InstalledPackage): Promise<Launcher> {
  switch (name) {
    case 'npm start': {
      const cwd = path.join(pkg.scratch, `repository-${++copies}`);
      await copyProject(cwd);
      return { name, cwd, command: ['npm', 'start'] };
    }
    case 'npx supajobs start':
      return { name, cwd: pkg.app, command: ['npx', 'supajobs', 'start'] };
    case 'node <bin> start':
      return { name, cwd: pkg.app, command: ['node', 'node_modules/supajobs/dist/cli/main.js', 'start'] };
    case 'pm2-runtime':
      return { name, cwd: pkg.source, command: ['node_modules/.bin/pm2-runtime', 'start', 'ecosystem.config.cjs'] };
    case 'Dockerfile CMD': {
      const cmd = (await dockerfileStages()).at(-1)?.find((i) => i.name === 'CMD')?.args ?? '[]';
      const db = await createTestDatabase({ migrate: false });
      return { name, cwd: pkg.dockerApp, command: JSON.parse(cmd) as string[], databaseUrl: db.url };
    }
  }
}

/** A task that holds its job for payload.ms, with its wait in a module shared beside it. */
export async function writeHoldTask(scratch: string): Promise<string> {
  const dir = path.join(scratch, 'tasks');
  await mkdir(dir);
  await writeFile(
    path.join(dir, '_wait.js'),
    `export function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}
`,
  );
  await writeFile(
    path.join(dir, 'hold.js'),
    `import { wait } from './_wait.js';
export default async function hold(job, ctx) {
  await wait(job.payload.ms, ctx.signal);
  console.log(JSON.stringify({ msg: 'hold finished', jobId: job.id }));
  return 'held';
}
`,
  );
  return dir;
}
