import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomically } from '../../../src/task-tools/atomic-file.js';

test('the file is replaced whole, and temp files a killed writer left are removed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'job-1.xml');
  // What a worker killed mid-write leaves: a temp file beside the target.
  await writeFile(`${file}.123456789`, '<partial');
  await writeFile(path.join(dir, 'job-1.xml.bak'), 'not ours');
  await writeFileAtomically(file, '<doc>1</doc>');
  await writeFileAtomically(file, '<doc>2</doc>');
  assert.equal(await readFile(file, 'utf8'), '<doc>2</doc>');
  assert.deepEqual((await readdir(dir)).sort(), ['job-1.xml', 'job-1.xml.bak']);
});

test('a stream is written as it arrives to a temp file, renamed at its end; a stream that fails leaves nothing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'job-2.xml');
  const seenMidway: string[][] = [];
  async function* body(fail: boolean) {
    yield Buffer.from('<doc>');
    seenMidway.push(await readdir(dir));
    yield Buffer.from('x'.repeat(100_000));
    if (fail) throw new Error('connection reset');
    yield Buffer.from('</doc>');
  }
  await writeFileAtomically(file, body(false));
  // Midway, only a temp file in write-file-atomic's naming existed (the one a retry removes).
  assert.equal(seenMidway[0]?.length, 1);
  assert.match(seenMidway[0]?.[0] ?? '', /^job-2\.xml\.\d+$/);
  assert.equal((await readFile(file, 'utf8')).length, 100_011);
  await assert.rejects(writeFileAtomically(file, body(true)), /connection reset/);
  assert.equal((await readFile(file, 'utf8')).length, 100_011, 'the old content stands');
  assert.deepEqual(await readdir(dir), ['job-2.xml']);
});
