import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PgProxy } from '../../../chaos/tcp-proxy.js';
import { LISTENER_APPLICATION_NAME } from '../../../src/drivers/postgres/listen-wake-ups.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

describe('a LISTEN connection that goes silent without closing', () => {
  test('is found by its check (LISTEN_CHECK_INTERVAL_MS), replaced, and wake-ups work again', async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    const proxy = new PgProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    after(() => proxy.stop());
    const { worker, logs } = await startTestWorker(
      db,
      { ok: () => 'ok' },
      // Polling slowed so far that only a wake-up explains a quick pick-up.
      { DATABASE_URL: proxy.urlFor(db.url), POLL_INTERVAL_MS: '600000', LISTEN_CHECK_INTERVAL_MS: '1000' },
    );
    await waitUntil(() => worker.driver?.wakeUps.mode === 'live');
    const pickUp = async () => {
      const { rows } = await db.pool.query("select enqueue_job('ok') as id");
      const started = Date.now();
      await waitForJobs(db, [rows[0].id], 10_000);
      return Date.now() - started;
    };
    assert.ok((await pickUp()) < 2_000, 'woken before the cut');

    const cutAt = Date.now();
    assert.equal(proxy.freeze(LISTENER_APPLICATION_NAME), 1);
    await waitUntil(() => logs.lines().some((l) => l.msg === 'LISTEN connection lost; polling until it is back'), 15_000);
    const lost = logs.lines().find((l) => l.msg === 'LISTEN connection lost; polling until it is back') as { err: { message: string } };
    assert.equal(lost.err.message, 'LISTEN connection check timed out');
    await waitUntil(() => proxy.openedSince(LISTENER_APPLICATION_NAME, cutAt) === 1 && worker.driver?.wakeUps.mode === 'live', 15_000);
    assert.ok(Date.now() - cutAt < 12_000, `replaced within the check interval, its 5 s timeout and a reconnect (${Date.now() - cutAt} ms)`);
    assert.ok((await pickUp()) < 2_000, 'woken after the reconnect');
    assert.equal(JSON.parse((await (await fetch(`http://127.0.0.1:${worker.healthAddress?.port}/ready`)).text())).wakeUps, 'live');
  });
});
