/**
 * Bundles bench/worker-process.ts (with src/ and bench/systems/) into plain JavaScript, so that a
 * worker process starts like a deployed worker does: `node file.mjs`, no TypeScript loader. Each
 * system module becomes a chunk of its own, loaded only by its own worker process; packages from
 * node_modules stay imports. import.meta.url keeps meaning each source file's own location (src/
 * finds supabase/ and package.json through it).
 */
import { build, type Plugin } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function buildWorkerProcess(root: string): Promise<string> {
  return bundle(root, 'supajobs-bench', 'worker', path.join('bench', 'worker-process.ts'));
}

/** The `supajobs` command (src/cli/main.ts) as one bundle: `node <file> start` runs a worker as deployed. */
export function buildCli(root: string): Promise<string> {
  return bundle(root, 'supajobs-cli', 'main', path.join('src', 'cli', 'main.ts'));
}

async function bundle(root: string, folder: string, name: string, entry: string): Promise<string> {
  // Inside node_modules, so that the bundle's package imports resolve to this project's.
  const outdir = path.join(root, 'node_modules', '.cache', folder);
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { [name]: path.join(root, entry) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [sourceLocation()],
  });
  return path.join(outdir, `${name}.mjs`);
}

function sourceLocation(): Plugin {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: source.replace(/\bimport\.meta\.url\b/g, url), loader: 'ts' };
      });
    },
  };
}
