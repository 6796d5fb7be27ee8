/**
 * The admin API on a running worker: every route, schema errors, the 401/404 rules, bulk retry by
 * group, the stream delivering a change, and the token in no log line.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { defineTask } from '../../../src/queue/task.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker } from '../../support/worker.js';

const TOKEN = `admin-${randomUUID()}`;
const db = await createTestDatabase();
const { worker, logs } = await startTestWorker(db, {
  ok: defineTask({ handler: () => 'fine' }),
  boom: defineTask({ maxAttempts: 1, handler: () => { throw new Error('<img src=x onerror=alert(1)>'); } }),
}, { ADMIN_TOKEN: TOKEN, ADMIN_STREAM_INTERVAL_MS: '100', QUEUES: 'api' });
const { worker: plain } = await startTestWorker(db, {}, { QUEUES: 'none' });
const base = `http://127.0.0.1:${worker.healthAddress!.port}`;
const auth = { authorization: `Bearer ${TOKEN}` };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth, at = base) {
  const response = await fetch(`${at}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

async function until<T>(look: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const value = await look();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('ADMIN_TOKEN unset: the API and the dashboard are not there (404)', async () => {
  const other = `http://127.0.0.1:${plain.healthAddress!.port}`;
  for (const path of ['/api/v1/queues', '/api/v1/openapi.json', '/dashboard/', '/dashboard/login']) {
    assert.equal((await call('GET', path, undefined, auth, other)).status, 404, path);
  }
});

test('without the token: 401 with a JSON error and the CSP; a wrong token too', async () => {
  const none = await call('GET', '/api/v1/queues', undefined, {});
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'UNAUTHORIZED');
  assert.match(none.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.equal((await call('GET', '/api/v1/jobs', undefined, { authorization: 'Bearer nope' })).status, 401);
});

test('POST /jobs enqueues (400 naming the field for a bad body); GET /jobs/:id; retry and cancel', async () => {
  const bad = await call('POST', '/api/v1/jobs', { task: 'ok', priority: 'high' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
  assert.match(bad.body.error.message, /priority/);
  assert.equal((await call('POST', '/api/v1/jobs', { queue: 'api' })).status, 400);
  const created = await call('POST', '/api/v1/jobs', { task: 'boom', queue: 'api', payload: { html: '<img src=x onerror=alert(1)>' }, groupKey: 'g-api' });
  assert.equal(created.status, 201);
  const { id } = created.body;
  const failed = await until(() => call('GET', `/api/v1/jobs/${id}`), (r) => r.body.job.status === 'failed');
  assert.equal(failed.body.job.lastError, '<img src=x onerror=alert(1)>');
  assert.deepEqual(failed.body.events.map((e: { event: string }) => e.event), ['enqueued', 'processing', 'failed']);
  assert.equal((await call('POST', `/api/v1/jobs/${id}/cancel`)).status, 409);
  assert.equal((await call('POST', `/api/v1/jobs/${randomUUID()}/retry`)).status, 404);
  assert.equal((await call('GET', '/api/v1/jobs/not-a-uuid')).status, 400);
  assert.equal((await call('GET', `/api/v1/jobs/${randomUUID()}`)).status, 404);
  const retried = await call('POST', `/api/v1/jobs/${id}/retry`);
  assert.deepEqual(retried.body, { retried: true });
  await until(() => call('GET', `/api/v1/jobs/${id}`), (r) => r.body.job.status === 'failed' && r.body.events.length === 6);
});

test('bulk retry and cancel by group return the count; GET /groups/:group summarises', async () => {
  const group = `bulk-${randomUUID()}`;
  for (let i = 0; i < 3; i++) assert.equal((await call('POST', '/api/v1/jobs', { task: 'boom', queue: 'api', groupKey: group })).status, 201);
  await until(() => call('GET', `/api/v1/groups/${group}`), (r) => r.body.failed === 3);
  assert.equal((await call('POST', '/api/v1/jobs/retry', { group, status: 'pending' })).status, 400);
  assert.deepEqual((await call('POST', '/api/v1/jobs/retry', { group })).body, { count: 3 });
  await until(() => call('GET', `/api/v1/groups/${group}`), (r) => r.body.failed === 3 && r.body.total === 3);
  assert.equal((await call('POST', '/api/v1/jobs', { task: 'idle', queue: 'elsewhere', groupKey: group })).status, 201);
  assert.deepEqual((await call('POST', '/api/v1/jobs/cancel', { group })).body, { count: 1 });
});

test('GET /jobs pages by keyset with filters; bad filters are 400', async () => {
  const group = `list-${randomUUID()}`;
  for (let i = 0; i < 5; i++) await call('POST', '/api/v1/jobs', { task: 'idle', queue: 'elsewhere', groupKey: group });
  const first = await call('GET', `/api/v1/jobs?group=${group}&limit=3`);
  assert.equal(first.body.jobs.length, 3);
  const second = await call('GET', `/api/v1/jobs?group=${group}&limit=3&after=${encodeURIComponent(first.body.nextCursor)}`);
  assert.equal(second.body.jobs.length, 2);
  assert.equal(second.body.nextCursor, null);
  assert.equal(new Set([...first.body.jobs, ...second.body.jobs].map((j: { id: string }) => j.id)).size, 5);
  for (const query of ['status=lost', 'limit=0', 'limit=x', 'after=junk', 'createdAfter=yesterday', 'colour=red']) {
    const bad = await call('GET', `/api/v1/jobs?${query}`);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.body.error.code, 'INVALID_ARGUMENT', query);
  }
});

test('GET /queues, /activity and /openapi.json', async () => {
  const queues = await call('GET', '/api/v1/queues');
  assert.equal(queues.status, 200);
  const api = queues.body.queues.find((q: { queue: string }) => q.queue === 'api');
  assert.ok(api.failed >= 1 && api.completionsPerMinute.length === 60);
  const activity = await call('GET', '/api/v1/activity?limit=5');
  assert.equal(activity.body.events.length, 5);
  const openapi = await call('GET', '/api/v1/openapi.json');
  assert.equal(openapi.body.openapi.slice(0, 2), '3.');
  for (const path of ['/api/v1/queues', '/api/v1/jobs', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/retry', '/api/v1/jobs/{id}/cancel',
    '/api/v1/jobs/retry', '/api/v1/jobs/cancel', '/api/v1/groups/{group}', '/api/v1/activity', '/api/v1/stream']) {
    assert.ok(openapi.body.paths[path], path);
  }
});

test('the stream delivers a job change', async () => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const response = await fetch(`${base}/api/v1/stream`, { headers: auth, signal: controller.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let id: string | undefined;
  try {
    while (!id || !text.includes(`"jobId":"${id}"`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      // Enqueue once the stream is live (its first stats message).
      if (!id && text.includes('event: stats')) id = (await call('POST', '/api/v1/jobs', { task: 'ok', queue: 'api' })).body.id;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  assert.ok(id && text.includes(`"jobId":"${id}"`), text.slice(-500));
});

test('the stream delivers an event whose transaction commits after later ones', async () => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20_000);
  const response = await fetch(`${base}/api/v1/stream`, { headers: auth, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const until = async (seen: (text: string) => boolean) => {
    while (!seen(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${text.slice(-300)}`);
      text += value;
    }
  };
  // A queue no worker claims, so that each job has exactly its 'enqueued' event.
  const queue = `late-${randomUUID()}`;
  const held = await db.pool.connect();
  try {
    await until((t) => t.includes('event: stats'));
    await held.query('begin');
    const { rows: [late] } = await held.query("select enqueue_job(task => 'ok', queue => $1) as id", [queue]);
    const early = (await call('POST', '/api/v1/jobs', { task: 'ok', queue })).body.id;
    await until((t) => t.includes(`"jobId":"${early}"`));
    await held.query('commit');
    await until((t) => t.includes(`"jobId":"${late.id}"`));
    const ids = [...text.matchAll(/^id: (\d+)\nevent: job\ndata: (.*)$/gm)]
      .map(([, id, data]) => ({ id: Number(id), jobId: JSON.parse(data!).jobId as string }))
      .filter((e) => e.jobId === early || e.jobId === late.id);
    // Delivered after the later one, although its event id is the lower.
    assert.deepEqual(ids.map((e) => e.jobId), [early, late.id]);
    assert.ok(ids[1]!.id < ids[0]!.id);
  } finally {
    held.release();
    clearTimeout(timer);
    controller.abort();
  }
});

test('no log line holds the token', () => {
  assert.ok(logs.text().length > 0);
  assert.ok(!logs.text().includes(TOKEN));
});
