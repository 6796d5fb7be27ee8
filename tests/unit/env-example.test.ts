import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(path.join(projectDir, file), 'utf8');

/** `# NAME=value` (or uncommented) lines of .env.example: name → documented default ('' = unset). */
function envExampleDefaults(): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    const match = /^#?\s?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const [, name, value] = match as unknown as [string, string, string];
    assert.ok(!defaults.has(name), `.env.example names ${name} twice`);
    defaults.set(name, value.trim());
  }
  return defaults;
}

/** Rows of the README's configuration table: name → default cell (a `value`, or words for unset). */
function readmeDefaults(): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const line of read('README.md').split('\n')) {
    const match = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (match) defaults.set(match[1] as string, match[2] as string);
  }
  return defaults;
}

test('.env.example names every configuration variable, and only those', () => {
  const documented = [...envExampleDefaults().keys()];
  const missing = CONFIG_VARIABLES.filter((name) => !documented.includes(name));
  const unknown = documented.filter((name) => !(CONFIG_VARIABLES as string[]).includes(name));
  assert.deepEqual(missing, [], `missing from .env.example: ${missing.join(', ')}`);
  assert.deepEqual(unknown, [], `.env.example names variables src/config.ts does not read: ${unknown.join(', ')}`);
});

test('every default .env.example shows is the real default', () => {
  const baseline = loadConfig({});
  for (const [name, value] of envExampleDefaults()) {
    if (value === '') continue; // unset by default
    assert.deepEqual(loadConfig({ [name]: value }), baseline, `${name}=${value} in .env.example is not the default`);
  }
});

test("the README's configuration table has every variable with the same default as .env.example", () => {
  const example = envExampleDefaults();
  const readme = readmeDefaults();
  for (const name of CONFIG_VARIABLES) {
    const cell = readme.get(name);
    assert.ok(cell !== undefined, `README.md's configuration table has no row for ${name}`);
    const quoted = /^`([^`]*)`$/.exec(cell);
    if (quoted) assert.equal(quoted[1], example.get(name), `README.md and .env.example disagree on the default of ${name}`);
    else assert.equal(example.get(name), '', `README.md gives ${name} no default value but .env.example does`);
  }
  const unknown = [...readme.keys()].filter((name) => !(CONFIG_VARIABLES as string[]).includes(name));
  assert.deepEqual(unknown, [], `README.md's table names variables src/config.ts does not read: ${unknown.join(', ')}`);
});
