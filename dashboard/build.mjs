// Bundles the dashboard (Preact, uPlot, our code and CSS) into dist/dashboard with esbuild.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'dist', 'dashboard');
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: path.join(here, 'src', 'main.jsx') },
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: out,
  logLevel: 'warning',
});
for (const file of ['index.html', 'login.html']) await copyFile(path.join(here, file), path.join(out, file));
