/**
 * The package as users get it, built once per test file: the repository copied and packed
 * (`prepare` builds dist/ there), the tarball installed into an app folder, and the Dockerfile's
 * runtime stage reproduced without Docker. All of it inside one `mktemp -d` folder (mode 0700),
 * so that, run as root, it is a private folder the `postgres` OS user cannot enter.
 */
import assert from 'node:assert/strict';
import { chmod, cp, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_DIR, childEnv, runOk } from './commands.js';
import { dockerfileStages } from './deploy-files.js';

export interface InstalledPackage {
  /** The private folder (0700) holding everything below. */
  scratch: string;
  /** A copy of the repository, built by `npm pack` (node_modules: the project's, linked). */
  source: string;
  /** The tarball's file list. */
  files: string[];
  /** An app that depends on the tarball (production install, optional dependencies included). */
  app: string;
  /** The Dockerfile's runtime stage, laid out as /app is in the image. */
  dockerApp: string;
}

const SKIP = new Set(['node_modules', '.git', 'dist', '.supajobs', 'scratch', 'coverage']);

export async function installPackage(): Promise<InstalledPackage> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'supajobs-pack-'));
  await chmod(scratch, 0o700);

  // Pack a copy of the project, so that `prepare` builds dist/ there and never rewrites the
  // dist/ that other tests may be running at the same time.
  const source = path.join(scratch, 'source');
  await copyProject(source);
  const packed = await runOk('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: source, env: childEnv() });
  const [manifest] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  assert.ok(manifest);
  const tarball = path.join(scratch, manifest.filename);

  const app = path.join(scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'supajobs-install-check', private: true }));
  const install = ['--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'];
  await runOk('npm', ['install', ...install, tarball], { cwd: app, env: childEnv(), timeoutMs: 150_000 });

  return { scratch, source, files: manifest.files.map((f) => f.path), app, dockerApp: await dockerRuntime(scratch, source) };
}

/** The repository without local state, its node_modules linked. */
export async function copyProject(to: string): Promise<void> {
  await cp(PROJECT_DIR, to, {
    recursive: true,
    filter: (from) => {
      const relative = path.relative(PROJECT_DIR, from);
      const top = relative.split(path.sep)[0] as string;
      return !SKIP.has(top) && !relative.endsWith('.tgz') && relative !== '.env';
    },
  });
  await symlink(path.join(PROJECT_DIR, 'node_modules'), path.join(to, 'node_modules'), 'dir');
}

/**
 * The Dockerfile's runtime stage without Docker: its `npm ci` (the cache clean after it is left
 * out: the machine's npm cache is not the image's), then dist/ and supabase/ as its COPY lines put them.
 */
async function dockerRuntime(scratch: string, source: string): Promise<string> {
  const runtime = (await dockerfileStages()).at(-1) ?? [];
  const npmCi = runtime
    .filter((i) => i.name === 'RUN')
    .flatMap((i) => i.args.split('&&').map((part) => part.trim()))
    .find((part) => part.startsWith('npm ci'));
  assert.ok(npmCi, 'the runtime stage runs npm ci');
  const dir = path.join(scratch, 'docker-app');
  await mkdir(dir);
  for (const file of ['package.json', 'package-lock.json']) await cp(path.join(source, file), path.join(dir, file));
  const args = npmCi.split(/\s+/).slice(1);
  await runOk('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env: childEnv(), timeoutMs: 150_000 });
  await cp(path.join(source, 'dist'), path.join(dir, 'dist'), { recursive: true });
  await cp(path.join(source, 'supabase'), path.join(dir, 'supabase'), { recursive: true });
  return dir;
}
