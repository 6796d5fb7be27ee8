/**
 * `npm test`: runs every tests/**\/*.test.ts file with node's test runner, on the PostgreSQL of
 * TEST_DATABASE_URL when set, otherwise on an embedded server started here for the run.
 * Arguments narrow the run to files whose path contains one of them.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedTestServer, type TestServer } from './support/test-server.js';

const testsDir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);

const files = (await readdir(testsDir, { recursive: true }))
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => path.join('tests', file))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();

let server: TestServer | undefined;
if (!process.env.TEST_DATABASE_URL) {
  server = await startEmbeddedTestServer();
  process.env.TEST_DATABASE_URL = server.url;
  console.log(`# PostgreSQL: embedded server on ${new URL(server.url).host}`);
} else {
  console.log(`# PostgreSQL: TEST_DATABASE_URL (${new URL(process.env.TEST_DATABASE_URL).host})`);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: process.env },
);
const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await server?.stop();
process.exit(code);
