/**
 * The admin API on a running worker: every route, schema errors, the 401/404 rules, bulk retry by
 * group, queue controls and schedules read back from the database, the stream delivering a
 * change, and the token in no log line.
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
    '/api/v1/jobs/retry', '/api/v1/jobs/cancel', '/api/v1/groups/{group}', '/api/v1/activity', '/api/v1/stream',
    '/api/v1/queues/{queue}/pause', '/api/v1/queues/{queue}/resume', '/api/v1/queues/{queue}/limits', '/api/v1/schedules',
    '/api/v1/schedules/{name}/enable', '/api/v1/schedules/{name}/disable']) {
    assert.ok(openapi.body.paths[path], path);
  }
});

const controlsOf = async (queue: string) =>
  (await db.pool.query('select paused, max_running, max_per_second from job_queues where queue = $1', [queue])).rows[0] ?? null;

test('pause and resume a queue: stored in job_queues, honoured by claim_jobs, shown in GET /queues', async () => {
  // A queue no worker serves, with a name that needs encoding in the path.
  const queue = `held/${randomUUID()} <b>`;
  const path = `/api/v1/queues/${encodeURIComponent(queue)}`;
  const paused = await call('POST', `${path}/pause`);
  assert.equal(paused.status, 200);
  assert.deepEqual({ ...paused.body.controls, updatedAt: undefined }, { queue, paused: true, maxRunning: null, maxPerSecond: null, updatedAt: undefined });
  assert.deepEqual(await controlsOf(queue), { paused: true, max_running: null, max_per_second: null });
  // Seen in the overview before the queue has a job; then with one, which no claim takes.
  const listed = (await call('GET', '/api/v1/queues')).body.queues.find((q: { queue: string }) => q.queue === queue);
  assert.deepEqual([listed.paused, listed.pending, listed.completionsPerMinute.length], [true, 0, 60]);
  await call('POST', '/api/v1/jobs', { task: 'ok', queue });
  assert.equal((await db.pool.query('select * from claim_jobs($1, array[$2], 10)', ['api-test', queue])).rowCount, 0);
  assert.equal((await call('GET', '/api/v1/queues')).body.queues.find((q: { queue: string }) => q.queue === queue).pending, 1);

  const resumed = await call('POST', `${path}/resume`);
  assert.equal(resumed.status, 200);
  assert.equal(resumed.body.controls.paused, false);
  assert.equal((await controlsOf(queue)).paused, false);
  assert.equal((await db.pool.query('select * from claim_jobs($1, array[$2], 10)', ['api-test', queue])).rowCount, 1);
  assert.equal((await call('POST', `${path}/resume`)).status, 200, 'resuming a running queue with controls changes nothing');
});

test('queue limits: set, replaced, lifted; bad bodies are 400', async () => {
  const queue = `limited-${randomUUID()}`;
  const path = `/api/v1/queues/${queue}/limits`;
  const set = await call('PUT', path, { maxRunning: 3, maxPerSecond: 7 });
  assert.equal(set.status, 200);
  assert.deepEqual([set.body.controls.paused, set.body.controls.maxRunning, set.body.controls.maxPerSecond], [false, 3, 7]);
  assert.deepEqual(await controlsOf(queue), { paused: false, max_running: 3, max_per_second: 7 });
  assert.equal((await call('PUT', path, { maxRunning: 0, maxPerSecond: null })).status, 200);
  assert.deepEqual(await controlsOf(queue), { paused: false, max_running: 0, max_per_second: null });
  const overview = await call('GET', '/api/v1/queues');
  assert.equal(overview.status, 200, JSON.stringify(overview.body));
  const listed = overview.body.queues.find((q: { queue: string }) => q.queue === queue);
  assert.deepEqual([listed.maxRunning, listed.maxPerSecond], [0, null]);
  for (const body of [{ maxRunning: -1, maxPerSecond: null }, { maxRunning: 1, maxPerSecond: 0 }, { maxRunning: 'many', maxPerSecond: null },
    { maxRunning: 1 }, { maxRunning: 1, maxPerSecond: 1, burst: 2 }, { maxRunning: 1.5, maxPerSecond: null }, { maxRunning: 1_000_001, maxPerSecond: null }]) {
    const bad = await call('PUT', path, body);
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.equal(bad.body.error.code, 'INVALID_ARGUMENT', JSON.stringify(body));
  }
  assert.deepEqual(await controlsOf(queue), { paused: false, max_running: 0, max_per_second: null }, 'refused bodies changed nothing');
  await call('POST', `/api/v1/queues/${queue}/pause`);
  const lifted = await call('DELETE', path);
  assert.equal(lifted.status, 200);
  assert.deepEqual(await controlsOf(queue), { paused: true, max_running: null, max_per_second: null }, 'lifting limits keeps the pause');
});

test('queue controls: unknown queue 404, bad names 400, no token 401', async () => {
  const unknown = `never-${randomUUID()}`;
  for (const [method, path] of [['POST', `/api/v1/queues/${unknown}/resume`], ['DELETE', `/api/v1/queues/${unknown}/limits`]]) {
    const missing = await call(method as string, path as string);
    assert.equal(missing.status, 404, `${method} ${path}`);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    assert.match(missing.body.error.message, new RegExp(`queue ${unknown} has no controls`));
  }
  assert.equal(await controlsOf(unknown), null, 'nothing was created');
  const long = 'q'.repeat(201);
  for (const [method, path, body] of [['POST', `/api/v1/queues/${long}/pause`], ['POST', `/api/v1/queues/${long}/resume`],
    ['PUT', `/api/v1/queues/${long}/limits`, { maxRunning: 1, maxPerSecond: null }], ['DELETE', `/api/v1/queues/${long}/limits`]] as const) {
    const bad = await call(method, path, body);
    assert.equal(bad.status, 400, `${method} ${path.slice(0, 30)}`);
    assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
  }
  const queue = `guarded-${randomUUID()}`;
  for (const [method, path, body] of [['POST', `/api/v1/queues/${queue}/pause`], ['POST', `/api/v1/queues/${queue}/resume`],
    ['PUT', `/api/v1/queues/${queue}/limits`, { maxRunning: 1, maxPerSecond: null }], ['DELETE', `/api/v1/queues/${queue}/limits`]] as const) {
    const denied = await call(method, path, body, {});
    assert.equal(denied.status, 401, `${method} ${path}`);
    assert.equal(denied.body.error.code, 'UNAUTHORIZED');
  }
  assert.equal(await controlsOf(queue), null, 'no unauthorised change');
});

test('schedules: listed with last and next tick; disabled and enabled; unknown 404; 400; 401', async () => {
  const name = `nightly/${randomUUID()} <i>`;
  await db.pool.query("select * from schedule_job($1, '0 3 * * *', 'report', queue => 'reports', timezone => 'Europe/Berlin')", [name]);
  const path = `/api/v1/schedules/${encodeURIComponent(name)}`;
  const mine = async () => (await call('GET', '/api/v1/schedules')).body.schedules.find((s: { name: string }) => s.name === name);
  const listed = await mine();
  assert.deepEqual([listed.cron, listed.timezone, listed.task, listed.queue, listed.enabled, listed.origin, listed.lastTick],
    ['0 3 * * *', 'Europe/Berlin', 'report', 'reports', true, 'sql', null]);
  // The next 03:00 in Berlin: 01:00 or 02:00 UTC, within a day.
  const next = new Date(listed.nextTick);
  assert.ok([1, 2].includes(next.getUTCHours()) && next.getUTCMinutes() === 0, listed.nextTick);
  assert.ok(next.getTime() > Date.now() - 60_000 && next.getTime() < Date.now() + 25 * 3_600_000, listed.nextTick);

  const disabled = await call('POST', `${path}/disable`);
  assert.equal(disabled.status, 200);
  assert.deepEqual([disabled.body.schedule.name, disabled.body.schedule.enabled, disabled.body.schedule.nextTick], [name, false, null]);
  assert.equal((await db.pool.query('select enabled from job_schedules where name = $1', [name])).rows[0].enabled, false);
  assert.deepEqual([(await mine()).enabled, (await mine()).nextTick], [false, null]);
  const enabled = await call('POST', `${path}/enable`);
  assert.equal(enabled.body.schedule.enabled, true);
  assert.ok(enabled.body.schedule.nextTick);
  assert.equal((await db.pool.query('select enabled from job_schedules where name = $1', [name])).rows[0].enabled, true);

  for (const action of ['enable', 'disable']) {
    const missing = await call('POST', `/api/v1/schedules/no-such-${randomUUID()}/${action}`);
    assert.equal(missing.status, 404, action);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    assert.match(missing.body.error.message, /schedule no-such-.* does not exist/);
    const bad = await call('POST', `/api/v1/schedules/${'s'.repeat(201)}/${action}`);
    assert.equal(bad.status, 400, action);
    assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
    assert.equal((await call('POST', `${path}/${action}`, undefined, {})).status, 401, action);
  }
  assert.equal((await call('GET', '/api/v1/schedules', undefined, {})).status, 401);
  assert.equal((await db.pool.query('select enabled from job_schedules where name = $1', [name])).rows[0].enabled, true, 'no unauthorised change');
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
