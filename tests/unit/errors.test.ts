import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { JOB_ERROR_CODES, PROCESS_ERROR_CODES, PermanentJobError, isTransientSqlState } from '../../src/errors.js';

const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = (section: string) =>
  new Set([...(doc.split(section)[1]?.split('\n## ')[0] ?? '').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));

test('docs/errors.md lists every job error code, each once, and no other', () => {
  const rows = [...(doc.split('## Job error codes')[1]?.split('\n## ')[0] ?? '').matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)];
  assert.deepEqual(rows.map((m) => m[1]).sort(), Object.keys(JOB_ERROR_CODES).sort());
  for (const [, code, retried] of rows) {
    assert.equal(JOB_ERROR_CODES[code as keyof typeof JOB_ERROR_CODES].retryable, retried === 'yes', `${code} retried column`);
  }
});

test('docs/errors.md lists every process error code', () => {
  assert.deepEqual([...documented('## Process error codes')].sort(), Object.keys(PROCESS_ERROR_CODES).sort());
});

test('no code is in both registries', () => {
  for (const code of Object.keys(JOB_ERROR_CODES)) assert.ok(!(code in PROCESS_ERROR_CODES), code);
});

test('every job error code the SQL functions write is registered', async () => {
  const dir = new URL('../../supabase/migrations/', import.meta.url);
  const { readdir } = await import('node:fs/promises');
  const sql = (await Promise.all((await readdir(dir)).map((f) => readFile(new URL(f, dir), 'utf8')))).join('\n');
  const written = new Set([...sql.matchAll(/error_code = '([A-Z_]+)'/g)].map((m) => m[1]));
  assert.ok(written.size > 0);
  for (const code of written) assert.ok((code as string) in JOB_ERROR_CODES, `${code} is registered`);
});

test('PermanentJobError carries PERMANENT_FAILURE unless given a code', () => {
  assert.equal(new PermanentJobError('x').code, 'PERMANENT_FAILURE');
  assert.equal(new PermanentJobError('x', { code: 'BAD_DOCUMENT' }).code, 'BAD_DOCUMENT');
});

test('transient SQLSTATEs: connection, resources, shutdown, serialization; not a cancelled statement', () => {
  for (const state of ['08006', '53300', '57P01', '40001']) assert.equal(isTransientSqlState(state), true, state);
  for (const state of ['22023', '42501', '23505', '57014', undefined]) assert.equal(isTransientSqlState(state), false, String(state));
});
