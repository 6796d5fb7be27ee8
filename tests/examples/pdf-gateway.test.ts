/**
 * examples/pdf-gateway end to end: its worker.ts and enqueue.ts as child processes, its fake
 * gateway in this process, a fresh database. One test in three steps: the gateway's answers as
 * error codes (first worker), a worker killed mid-write and its job redone (by a second worker),
 * memory under load (the second worker).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startFakeGateway } from '../../examples/pdf-gateway/fake-gateway.js';
import { createTestDatabase } from '../support/database.js';
import { waitForJobs, waitUntil } from '../support/worker.js';
import { PROJECT_DIR, runScript, WorkerProcess } from '../support/worker-process.js';

const EXAMPLE = path.join(PROJECT_DIR, 'examples', 'pdf-gateway');
const MAX_BYTES = 10 * 1024 * 1024;
const RSS_BOUND_KB = 256 * 1024;

/** A PDF as the fake gateway sees one: %PDF- header, a directive, a body of random bytes. */
const pdf = (directive: string, bytes = 64 * 1024) => Buffer.concat([Buffer.from(`%PDF-1.7\n%fake:${directive}\n`), randomBytes(bytes)]);

/** The document an XML result holds (its base64 chunks decoded), or null when it is not whole. */
async function documentIn(file: string): Promise<Buffer | null> {
  const xml = await readFile(file, 'latin1');
  if (!xml.startsWith('<?xml') || !xml.endsWith('</document>\n')) return null;
  return Buffer.concat([...xml.matchAll(/<chunk>([^<]*)<\/chunk>/g)].map((m) => Buffer.from(m[1] ?? '', 'base64')));
}

const outcome = (row: Record<string, any>) => `${row.status} ${row.error_code ?? '-'} after ${row.attempts}`;

/** Peak resident memory of a process, in kB (VmHWM: the high-water mark since it started). */
async function peakRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
}

test('pdf-gateway: 4xx and 413 dead-letter at once, 5xx and timeouts are retried, results are whole files, memory stays bounded, a killed worker\'s job is redone', async (t) => {
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'pdf-gateway-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const inputs = path.join(dir, 'in');
  const results = path.join(dir, 'results');
  await mkdir(inputs);
  const gateway = await startFakeGateway({ maxBytes: MAX_BYTES });
  db.onDrop(() => new Promise((resolve) => (gateway.closeAllConnections(), gateway.close(resolve))));
  const env = {
    DATABASE_URL: db.url,
    MIGRATE_ON_START: 'false',
    GATEWAY_URL: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    RESULTS_DIR: results,
    GATEWAY_TIMEOUT_MS: '5000',
    LEASE_SECONDS: '5',
    RECLAIM_INTERVAL_MS: '300',
    POLL_INTERVAL_MS: '300',
  };
  // The large documents of step 3, written while the first worker starts.
  const big = Array.from({ length: 6 }, (_, i) => pdf(`big-${i}`, 8 * 1024 * 1024));
  const [first] = await Promise.all([
    WorkerProcess.start({ ...env, WORKER_ID: 'pdf-worker-1' }, path.join(EXAMPLE, 'worker.ts')),
    ...big.map((bytes, i) => writeFile(path.join(inputs, `big-${i}.pdf`), bytes)),
    writeFile(path.join(inputs, 'huge.pdf'), pdf('none', MAX_BYTES + 1)),
  ]);
  db.onDrop(() => first.stop('SIGKILL'));

  // 1. The gateway's answers, enqueued by the example's own script (413 in step 3: its upload takes a while).
  const documents: Record<string, Buffer> = {
    ok: pdf('none'),
    malformed: pdf('400'),
    unacceptable: pdf('406'),
    'not-pdf': Buffer.from('GIF89a, not a PDF'),
    flaky: pdf('502-once'),
    slow: pdf('hang-once'),
  };
  for (const [name, bytes] of Object.entries(documents)) await writeFile(path.join(inputs, `${name}.pdf`), bytes);
  const enqueued = await runScript(path.join(EXAMPLE, 'enqueue.ts'), Object.keys(documents).map((name) => path.join(inputs, `${name}.pdf`)), { DATABASE_URL: db.url, MIGRATE_ON_START: 'false' });
  assert.equal(enqueued.code, 0, enqueued.stderr);
  const ids = Object.fromEntries(enqueued.stdout.trim().split('\n').map((line) => [path.basename(line.split(' ')[1] ?? '', '.pdf'), line.split(' ')[0] ?? '']));
  assert.deepEqual(Object.keys(ids).sort(), Object.keys(documents).sort());
  const rows = await waitForJobs(db, Object.values(ids), 30_000);
  assert.deepEqual(Object.fromEntries(Object.keys(documents).map((name) => [name, outcome(rows.get(ids[name] ?? '')!)])), {
    ok: 'completed - after 1',
    malformed: 'failed GW_4XX after 1',
    unacceptable: 'failed GW_4XX after 1',
    'not-pdf': 'failed GW_4XX after 1',
    // A job that completed keeps the code of the attempt that failed before.
    flaky: 'completed GW_5XX after 2',
    slow: 'completed GW_TIMEOUT after 2',
  });
  for (const [name, status] of [['malformed', 400], ['unacceptable', 406], ['not-pdf', 415]] as const) {
    assert.match(rows.get(ids[name] ?? '')!.last_error, new RegExp(`answered ${status}:`));
  }
  const retries = await db.pool.query(
    "select job_id, attempt, error_code from job_events where job_id = any($1::uuid[]) and to_status = 'pending' and error_code is not null order by id",
    [[ids.flaky, ids.slow]],
  );
  assert.deepEqual(retries.rows.map((r) => `${r.job_id === ids.flaky ? 'flaky' : 'slow'} ${r.error_code}@${r.attempt}`).sort(), ['flaky GW_5XX@1', 'slow GW_TIMEOUT@1']);
  // One whole result per completed job, named by its id, holding the document sent.
  assert.deepEqual((await readdir(results)).sort(), [ids.ok, ids.flaky, ids.slow].map((id) => `${id}.xml`).sort());
  for (const name of ['ok', 'flaky', 'slow']) {
    const row = rows.get(ids[name] ?? '')!;
    assert.deepEqual(row.result, { file: path.join(results, `${row.id}.xml`), bytes: (await stat(path.join(results, `${row.id}.xml`))).size });
    assert.ok((await documentIn(row.result.file))?.equals(documents[name]!), `${name}: the XML holds the document`);
  }

  // 2. SIGKILL while the result is half written: the job is reclaimed after its lease and redone by
  // another worker; the temp file the dead one left is gone and the result is whole.
  const stalled = pdf('stall-once', 512 * 1024);
  await writeFile(path.join(inputs, 'stalled.pdf'), stalled);
  const stalledId: string = (await db.pool.query("select enqueue_job('convert-pdf', jsonb_build_object('file', $1::text)) as id", [path.join(inputs, 'stalled.pdf')])).rows[0].id;
  const temp = new RegExp(`^${stalledId}\\.xml\\.\\d+$`);
  let partial = '';
  await waitUntil(async () => {
    for (const name of await readdir(results)) if (temp.test(name) && (await stat(path.join(results, name))).size > 0) partial = name;
    return partial !== '';
  });
  await first.stop('SIGKILL');
  assert.ok(temp.test(partial) && (await readdir(results)).includes(partial), 'the killed worker left a partial temp file');
  assert.equal((await readdir(results)).includes(`${stalledId}.xml`), false, 'no result before the rename');
  // Its gateway timeout is the default (30 s): the uploads of step 3 share a loaded machine.
  const second = await WorkerProcess.start({ ...env, WORKER_ID: 'pdf-worker-2', GATEWAY_TIMEOUT_MS: '30000' }, path.join(EXAMPLE, 'worker.ts'));
  db.onDrop(() => second.stop('SIGKILL'));
  const redone = (await waitForJobs(db, [stalledId], 30_000)).get(stalledId)!;
  assert.equal(`${redone.status} ${redone.attempts} ${redone.locked_by}`, 'completed 2 pdf-worker-2');
  const history = await db.pool.query('select to_status, attempt, worker_id, error_code from job_events where job_id = $1 order by id', [stalledId]);
  assert.deepEqual(
    history.rows.map((e) => `${e.to_status}@${e.attempt} ${e.worker_id ?? '-'} ${e.error_code ?? '-'}`),
    ['pending@0 - -', 'processing@1 pdf-worker-1 -', 'pending@1 pdf-worker-1 LEASE_EXPIRED', 'processing@2 pdf-worker-2 -', 'completed@2 pdf-worker-2 -'],
  );
  assert.deepEqual((await readdir(results)).filter((name) => name.startsWith(stalledId)), [`${stalledId}.xml`]);
  assert.ok((await documentIn(path.join(results, `${stalledId}.xml`)))?.equals(stalled), 'the redone result is whole');

  // 3. Six documents of 8 MB at once, and one past the gateway's limit, streamed both ways: the worker's peak RSS stays under the bound.
  const bigIds: string[] = [];
  for (const i of big.keys()) {
    bigIds.push((await db.pool.query("select enqueue_job('convert-pdf', jsonb_build_object('file', $1::text)) as id", [path.join(inputs, `big-${i}.pdf`)])).rows[0].id);
  }
  const huge: string = (await db.pool.query("select enqueue_job('convert-pdf', jsonb_build_object('file', $1::text)) as id", [path.join(inputs, 'huge.pdf')])).rows[0].id;
  const bigRows = await waitForJobs(db, [...bigIds, huge], 60_000);
  assert.equal(outcome(bigRows.get(huge)!), 'failed TOO_LARGE after 1');
  assert.match(bigRows.get(huge)!.last_error, /answered 413:/);
  for (const [i, id] of bigIds.entries()) {
    assert.equal(bigRows.get(id)?.status, 'completed');
    assert.ok((await documentIn(path.join(results, `${id}.xml`)))?.equals(big[i]!), `big-${i}: whole`);
  }
  const peakKb = await peakRssKb(second.child.pid!);
  t.diagnostic(`worker peak RSS (VmHWM) after ${big.length} × 8 MB documents in, ${Math.round((big.length * 8 * 4) / 3)} MB of XML out: ${Math.round(peakKb / 1024)} MB`);
  assert.ok(peakKb > 0 && peakKb < RSS_BOUND_KB, `peak RSS ${peakKb} kB`);

  assert.equal(await second.stop(), 0);
});
