/**
 * examples/package-pipeline, end to end: its upload script enqueues an upload's packages as a
 * group, its worker program (a child process) vets them against a registry the test serves. A
 * worker SIGKILLed while three packages wait at three different steps leaves them to the next
 * worker, which resumes each after its last completed step: every step's side effect (an audit
 * row) happens once, and the registry sees only the interrupted step asked again. An upload with
 * a licence not yet allowed leaves its group part failed; after the licence is allowed, one bulk
 * retry over the admin API (group filter) completes the group.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase } from '../support/database.js';
import { runScript, WorkerProcess } from '../support/worker-process.js';
import { waitForJobs, waitUntil } from '../support/worker.js';

const EXAMPLE = 'examples/package-pipeline';
const ADMIN_TOKEN = 'package-pipeline-admin-token';
const STEPS = ['checking-licence', 'downloaded', 'security-scanning', 'pending-approval'];

type Call = 'metadata' | 'tarball' | 'advisories';

/**
 * A registry as the example calls npm's: version metadata, tarballs and the bulk advisory
 * endpoint. Counts every call per package, and holds the calls the test asks it to hold.
 */
class Registry {
  readonly calls = new Map<string, number>();
  readonly licences = new Map<string, string>();
  readonly #held = new Set<string>();
  readonly #waiting: (() => void)[] = [];
  readonly #server = createServer((req, res) => void this.#answer(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  count(call: Call, name: string): number {
    return this.calls.get(`${call} ${name}`) ?? 0;
  }

  hold(call: Call, name: string): void {
    this.#held.add(`${call} ${name}`);
  }

  releaseAll(): void {
    this.#held.clear();
    for (const go of this.#waiting.splice(0)) go();
  }

  stop(): Promise<void> {
    this.releaseAll();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', this.url);
    const [call, name, answer] = this.#route(req.method ?? 'GET', url.pathname, body);
    this.calls.set(`${call} ${name}`, this.count(call, name) + 1);
    if (this.#held.has(`${call} ${name}`)) await new Promise<void>((go) => this.#waiting.push(go));
    if (res.destroyed) return;
    if (typeof answer === 'string') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }

  #route(method: string, pathname: string, body: string): [Call, string, unknown] {
    if (method === 'POST' && pathname === '/-/npm/v1/security/advisories/bulk') {
      const name = Object.keys(JSON.parse(body) as object)[0] ?? '';
      return ['advisories', name, { [name]: name === 'left-pad' ? [{ id: 1, severity: 'low' }] : [] }];
    }
    const [, name = '', second = '', file = ''] = pathname.split('/').map(decodeURIComponent);
    if (second === '-') return ['tarball', name, tarball(file)];
    return ['metadata', name, { name, version: second, license: this.licences.get(name) ?? 'MIT', dist: { tarball: `${this.url}/${name}/-/${name}-${second}.tgz` } }];
  }
}

const tarball = (file: string) => `the bytes of ${file}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const db = await createTestDatabase();
await db.pool.query(await readFile(path.join(EXAMPLE, 'schema.sql'), 'utf8'));
const registry = new Registry();
await registry.start();
const downloads = await mkdtemp(path.join(tmpdir(), 'package-pipeline-'));
const workers: WorkerProcess[] = [];
db.onDrop(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await registry.stop();
  await rm(downloads, { recursive: true, force: true });
});

const env = {
  DATABASE_URL: db.url,
  MIGRATE_ON_START: 'false',
  REGISTRY_URL: registry.url,
  DOWNLOAD_DIR: downloads,
  ADMIN_TOKEN,
  MAX_CONCURRENT_JOBS: '4',
  LEASE_SECONDS: '5',
  RECLAIM_INTERVAL_MS: '250',
  POLL_INTERVAL_MS: '250',
  MONITOR_INTERVAL_MS: '0',
};

async function startWorker(name: string): Promise<WorkerProcess> {
  const worker = await WorkerProcess.start({ ...env, WORKER_ID: name }, `${EXAMPLE}/worker.ts`);
  workers.push(worker);
  return worker;
}

/** Runs the example's upload script on a package.json with these dependencies. */
async function upload(id: string, dependencies: Record<string, string>): Promise<{ group: string; jobs: string[] }> {
  const file = path.join(downloads, `package-${id}.json`);
  await writeFile(file, JSON.stringify({ name: `upload-${id}`, dependencies }));
  const run = await runScript(`${EXAMPLE}/upload.ts`, [id, file], { DATABASE_URL: db.url });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { group: string; jobs: string[] };
}

async function auditCounts(jobId: string): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ step: string; n: number }>(
    'select step, count(*)::int as n from pipeline.package_audit where job_id = $1 group by step',
    [jobId],
  );
  return Object.fromEntries(rows.map((r) => [r.step, r.n]));
}

const once = Object.fromEntries(STEPS.map((s) => [s, 1]));

async function admin(method: 'GET' | 'POST', worker: WorkerProcess, pathname: string, body?: object, token = ADMIN_TOKEN) {
  const response = await fetch(`http://127.0.0.1:${worker.port}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

let survivor: WorkerProcess;

test('a worker SIGKILLed mid-step: the next one resumes each job after its last completed step', async () => {
  const first = await startWorker('pipeline-1');
  // Each package is held at a different step: lodash at its licence check, chalk at its download, left-pad at its scan.
  registry.hold('metadata', 'lodash');
  registry.hold('tarball', 'chalk');
  registry.hold('advisories', 'left-pad');
  const { group, jobs } = await upload('u1', { lodash: '4.17.21', chalk: '5.3.0', 'left-pad': '1.3.0' });
  assert.equal(group, 'upload-u1');
  const [lodash, chalk, leftPad] = jobs as [string, string, string];
  await waitUntil(() => registry.count('metadata', 'lodash') === 1 && registry.count('tarball', 'chalk') === 1 && registry.count('advisories', 'left-pad') === 1);

  const { rows: midway } = await db.pool.query('select id, status, stage, attempts from jobs where id = any($1::uuid[])', [jobs]);
  const stageOf = (id: string) => midway.find((r) => r.id === id);
  assert.deepEqual([lodash, chalk, leftPad].map((id) => stageOf(id)?.stage), ['checking-licence', 'downloaded', 'security-scanning']);
  assert.ok(midway.every((r) => r.status === 'processing' && r.attempts === 1));
  assert.deepEqual(await auditCounts(leftPad), { 'checking-licence': 1, downloaded: 1 });

  first.child.kill('SIGKILL');
  await first.exited;
  registry.releaseAll();
  survivor = await startWorker('pipeline-2');
  const done = await waitForJobs(db, jobs, 30_000);

  for (const id of jobs) {
    const job = done.get(id);
    assert.equal(job?.status, 'completed', `${id}: ${job?.status} ${job?.last_error}`);
    assert.equal(job?.stage, 'pending-approval');
    assert.equal(job?.attempts, 2, 'the killed attempt and the resumed one');
    assert.deepEqual(await auditCounts(id), once, 'every step did its work once');
    const { rows: reclaimed } = await db.pool.query("select 1 from job_events where job_id = $1 and event = 'pending' and error_code = 'LEASE_EXPIRED'", [id]);
    assert.equal(reclaimed.length, 1, 'the dead worker\'s job was reclaimed');
  }
  // Only the step each job was in when the worker died ran again.
  assert.deepEqual(
    ['lodash', 'chalk', 'left-pad'].map((name) => (['metadata', 'tarball', 'advisories'] as Call[]).map((call) => registry.count(call, name))),
    [[2, 1, 1], [1, 2, 1], [1, 1, 2]],
  );
  const { rows: steps } = await db.pool.query<{ name: string; attempt: number }>('select name, attempt from job_steps where job_id = $1 order by completed_at', [leftPad]);
  assert.deepEqual(steps, STEPS.map((name, i) => ({ name, attempt: i < 2 ? 1 : 2 })));

  const { rows: approvals } = await db.pool.query('select package, licence, advisories from pipeline.approval_requests order by package');
  assert.deepEqual(approvals, [
    { package: 'chalk', licence: 'MIT', advisories: 0 },
    { package: 'left-pad', licence: 'MIT', advisories: 1 },
    { package: 'lodash', licence: 'MIT', advisories: 0 },
  ]);
  const result = done.get(chalk)?.result as { sha256: string };
  assert.equal(result.sha256, sha256(tarball('chalk-5.3.0.tgz')));
  assert.equal(await readFile(path.join(downloads, `${chalk}.tgz`), 'utf8'), tarball('chalk-5.3.0.tgz'));
});

test("a group's status and a bulk retry of its failed jobs over the admin API", async () => {
  registry.licences.set('readline-sync', 'GPL-3.0');
  const { group, jobs } = await upload('u2', { express: '4.19.2', 'readline-sync': '1.4.10', ms: '2.1.3' });
  const done = await waitForJobs(db, jobs, 20_000);
  const refused = done.get(jobs[1] as string);
  assert.equal(refused?.status, 'failed');
  assert.equal(refused?.error_code, 'LICENCE_NOT_ALLOWED');
  assert.equal(refused?.attempts, 1, 'a refused licence is not retried');

  assert.equal((await admin('GET', survivor, `/api/v1/groups/${group}`, undefined, 'not-the-admin-token')).status, 401);
  const before = await admin('GET', survivor, `/api/v1/groups/${group}`);
  assert.equal(before.status, 200);
  assert.deepEqual({ ...before.body, firstCreatedAt: undefined, lastCreatedAt: undefined }, {
    group, total: 3, pending: 0, processing: 0, completed: 2, failed: 1, cancelled: 0, firstCreatedAt: undefined, lastCreatedAt: undefined,
  });

  // The operator allows the licence, then retries what the group left failed (another group is untouched).
  await db.pool.query("insert into pipeline.allowed_licences values ('GPL-3.0')");
  assert.deepEqual((await admin('POST', survivor, '/api/v1/jobs/retry', { group: 'upload-u1' })).body, { count: 0 });
  const retried = await admin('POST', survivor, '/api/v1/jobs/retry', { group });
  assert.equal(retried.status, 200);
  assert.deepEqual(retried.body, { count: 1 });

  const after = await waitForJobs(db, jobs, 20_000);
  assert.ok([...after.values()].every((j) => j.status === 'completed'));
  assert.deepEqual(await auditCounts(jobs[1] as string), once);
  assert.equal(registry.count('metadata', 'readline-sync'), 2, 'the refused check and the retried one');
  const final = await admin('GET', survivor, `/api/v1/groups/${group}`);
  assert.equal(final.body.completed, 3);
  assert.equal(final.body.failed, 0);
  // Nothing else ran again: the other packages of the group were vetted once.
  for (const name of ['express', 'ms']) assert.equal(registry.count('metadata', name), 1);
});
