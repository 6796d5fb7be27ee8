import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PgProxy } from '../../../chaos/tcp-proxy.js';
import { POOL_APPLICATION_NAME } from '../../../src/drivers/postgres/listen-wake-ups.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

describe('pool connections that go silent without closing', () => {
  // Found with the chaos harness's proxy: a claim or completion sent on a connection that no
  // longer answers waited forever, and the worker stopped taking jobs while /ready said ready.
  test('calls on them time out (DATABASE_QUERY_TIMEOUT_MS), the connections are replaced, and jobs keep moving', async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    const proxy = new PgProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    after(() => proxy.stop());
    const { logs } = await startTestWorker(
      db,
      { ok: () => 'ok' },
      { DATABASE_URL: proxy.urlFor(db.url), DATABASE_QUERY_TIMEOUT_MS: '1000', POLL_INTERVAL_MS: '200', LEASE_SECONDS: '5' },
    );
    const enqueue = async (n: number) =>
      (await db.pool.query<{ id: string }>("select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'ok')) from generate_series(1, $1::int)))", [n])).rows.map((r) => r.id);
    await waitForJobs(db, await enqueue(50));
    const cutAt = Date.now();
    assert.ok(proxy.freeze(POOL_APPLICATION_NAME) >= 1, 'pool connections frozen');
    const ids = await enqueue(50);
    const done = await waitForJobs(db, ids, 20_000);
    assert.deepEqual([...new Set([...done.values()].map((j) => j.status))], ['completed']);
    assert.ok(proxy.openedSince(POOL_APPLICATION_NAME, cutAt) >= 1, 'new pool connections were opened');
    await waitUntil(() => logs.lines().some((l) => /Query read timeout/.test(String((l.err as { message?: string } | undefined)?.message))));
  });
});
