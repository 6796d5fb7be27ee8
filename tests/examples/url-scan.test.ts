/**
 * examples/url-scan end to end: its worker.ts and enqueue.ts as child processes against a small
 * site served here, a fresh database, and a webhook receiving the dead-letter alert.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '../support/database.js';
import { waitForJobs, waitUntil } from '../support/worker.js';
import { PROJECT_DIR, runScript, WorkerProcess } from '../support/worker-process.js';

const EXAMPLE = path.join(PROJECT_DIR, 'examples', 'url-scan');

const SHOP = `<html><head><title> Example shop </title><script src="/app.js"></script>
<script src="https://cdn.example.net/lib.js"></script></head><body><a href="/about">About</a>
<a href="http://partner.example.org/">Partner</a><a href="javascript:void(0)">menu</a></body></html>`;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('url-scan: declared stages with an audit event per move, a sandboxed fetcher checked by its schema, FAILED and TIMED_OUT by themselves, one dead-letter alert', async () => {
  const db = await createTestDatabase();
  let hangingRequestClosed = false;
  const site = await serve((req, res) => {
    if (req.url === '/shop') return void res.writeHead(200, { 'content-type': 'text/html' }).end(SHOP);
    if (req.url === '/long-title') return void res.end(`<title>${'spam '.repeat(100)}</title>`);
    if (req.url === '/hang') return void req.socket.on('close', () => (hangingRequestClosed = true));
    res.writeHead(404).end('not here');
  });
  const alerts: unknown[] = [];
  const webhook = await serve((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk)).on('end', () => (alerts.push(JSON.parse(body)), res.end()));
  });
  for (const { server } of [site, webhook]) db.onDrop(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  const worker = await WorkerProcess.start(
    {
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'false',
      JOB_TIMEOUT_MS: '8000', // a scan's node process may take seconds to start on a loaded machine
      POLL_INTERVAL_MS: '300',
      MONITOR_INTERVAL_MS: '300',
      DEAD_LETTER_ALERT_THRESHOLD: 'url-scan=3,*=100',
      DEAD_LETTER_ALERT_WEBHOOK_URL: `${webhook.base}/alerts`,
    },
    path.join(EXAMPLE, 'worker.ts'),
  );
  db.onDrop(() => worker.stop('SIGKILL'));

  // A page scanned through the example's own script, which waits for the job and prints it.
  const scanned = await runScript(path.join(EXAMPLE, 'enqueue.ts'), [`${site.base}/shop`], { DATABASE_URL: db.url, MIGRATE_ON_START: 'false' });
  assert.equal(scanned.code, 0, scanned.stderr);
  const shop = JSON.parse(scanned.stdout) as { id: string };
  assert.deepEqual(shop, {
    id: shop.id,
    status: 'completed',
    stage: 'COMPLETED',
    // javascript: is not a link; the relative ones are resolved against the page.
    result: { title: 'Example shop', links: 2, scriptHosts: [new URL(site.base).host, 'cdn.example.net'], thirdPartyScripts: 1 },
    errorCode: null,
  });

  const enqueue = async (page: string, maxAttempts: number) =>
    (await db.pool.query("select enqueue_job('scan-url', jsonb_build_object('url', $1::text), queue => 'url-scan', max_attempts => $2) as id", [`${site.base}${page}`, maxAttempts])).rows[0].id as string;
  const ids = { shop: shop.id, gone: await enqueue('/gone', 5), longTitle: await enqueue('/long-title', 5), hang: await enqueue('/hang', 1) };
  const rows = await waitForJobs(db, Object.values(ids), 30_000);
  const ended = (id: string) => {
    const row = rows.get(id)!;
    return `${row.status} ${row.stage} ${row.error_code ?? '-'} after ${row.attempts} (version ${row.version})`;
  };
  assert.deepEqual(Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, ended(id)])), {
    shop: 'completed COMPLETED - after 1 (version 3)',
    // A permanent failure and a bad fetcher output are dead letters on their first attempt: FAILED.
    gone: 'failed FAILED PAGE_UNAVAILABLE after 1 (version 2)',
    longTitle: 'failed FAILED SANDBOX_BAD_OUTPUT after 1 (version 2)',
    // Out of time (JOB_TIMEOUT_MS) on its last attempt: TIMED_OUT.
    hang: 'failed TIMED_OUT TIMEOUT after 1 (version 2)',
  });
  assert.match(rows.get(ids.longTitle)!.last_error, /output failed its schema: title: at most 300 characters/);
  assert.deepEqual(rows.get(ids.shop)!.progress, { status: 200, links: 2 }, "the data of the last move is the job's progress");
  // The job's timeout killed the fetcher's process group: the request it had open was closed.
  await waitUntil(() => hangingRequestClosed, 10_000);

  // The audit trail: an event per stage move ('stage'), per status change, the dead letter's carrying its terminal stage.
  const events = await db.pool.query('select job_id, event, stage, attempt from job_events order by id');
  const history = (id: string) => events.rows.filter((e) => e.job_id === id).map((e) => `${e.event}${e.stage ? ` ${e.stage}` : ''}@${e.attempt}`);
  assert.deepEqual(Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, history(id)])), {
    shop: ['enqueued@0', 'processing@1', 'stage FETCHING@1', 'stage ANALYZING@1', 'stage COMPLETED@1', 'completed COMPLETED@1'],
    gone: ['enqueued@0', 'processing@1', 'stage FETCHING@1', 'failed FAILED@1'],
    longTitle: ['enqueued@0', 'processing@1', 'stage FETCHING@1', 'failed FAILED@1'],
    hang: ['enqueued@0', 'processing@1', 'stage FETCHING@1', 'failed TIMED_OUT@1'],
  });

  // Three dead letters in the queue: the alert fires once, with the count, and not again.
  await waitUntil(() => alerts.length > 0, 10_000);
  await sleep(1_000);
  assert.deepEqual(alerts.map((a) => ({ ...(a as object), at: undefined })), [{ alert: 'dead-letter', queue: 'url-scan', failed: 3, threshold: 3, at: undefined }]);
  assert.ok(worker.lines().some((l) => l.level === 50 && /dead-letter alert: queue "url-scan" has 3 failed jobs/.test(String(l.msg))));

  // Every writer's moves are checked against the declared graph and the version, not only the worker's.
  const later = (await db.pool.query("select enqueue_job('scan-url', '{\"url\":\"https://example.test\"}', queue => 'url-scan', run_at => now() + interval '1 hour') as id")).rows[0].id;
  const refusal = (sql: string, params: unknown[]) => db.pool.query(sql, params).then(() => 'allowed', (e: { code?: string }) => e.code);
  assert.equal(await refusal("select transition_job($1, 'ANALYZING', expected_version => 0)", [later]), 'SJ001', 'QUEUED → ANALYZING is not declared');
  assert.equal(await refusal("update jobs set stage = 'COMPLETED' where id = $1", [later]), 'SJ001', 'nor by a plain update');
  assert.equal(await refusal("select transition_job($1, 'FETCHING', expected_version => 7)", [later]), 'SJ002', 'a stale version');
  assert.equal(await refusal("select transition_job($1, 'FETCHING', expected_version => 0)", [later]), 'allowed');
  assert.equal((await db.pool.query('select version from jobs where id = $1', [later])).rows[0].version, 1);
  assert.equal(await worker.stop(), 0);
});
