import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitUntil } from '../../support/worker.js';

test('check_dead_letter_alert fires once per crossing, for one caller', async () => {
  const { pool } = await createTestDatabase();
  const check = async (failed: number) => (await pool.query("select check_dead_letter_alert('q', $1, 3) as v", [failed])).rows[0].v;
  assert.deepEqual([await check(2), await check(10), await check(12), await check(13), await check(13), await check(16)], [false, true, false, true, false, true]);
  // Many workers reading the same figures at once: one alert.
  const answers = await Promise.all(Array.from({ length: 8 }, () => check(19)));
  assert.equal(answers.filter(Boolean).length, 1);
  // A count that fell (purged) is the new base.
  assert.deepEqual([await check(2), await check(4), await check(5)], [false, false, true]);
});

test('the alert logs, counts in /metrics and posts to the webhook once the threshold is crossed', async () => {
  const db = await createTestDatabase();
  const posts: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      posts.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  db.onDrop(() => new Promise((resolve) => server.close(resolve)));
  const { worker, logs } = await startTestWorker(db, { doomed: () => Promise.reject(new Error('no')) }, {
    MONITOR_INTERVAL_MS: '200',
    DEAD_LETTER_ALERT_THRESHOLD: 'mail=2,*=100',
    DEAD_LETTER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alert`,
  });
  await db.pool.query(`select enqueue_job('doomed', queue => 'mail', max_attempts => 1) from generate_series(1, 2)`);
  await db.pool.query(`select enqueue_job('doomed', queue => 'other', max_attempts => 1) from generate_series(1, 2)`);
  await waitUntil(() => posts.length >= 1);
  assert.equal(posts.length, 1);
  assert.deepEqual({ ...(posts[0] as object), at: undefined }, { alert: 'dead-letter', queue: 'mail', failed: 2, threshold: 2, at: undefined });
  assert.ok(logs.lines().some((l) => l.level === 50 && l.queue === 'mail' && /dead-letter alert/.test(String(l.msg))));
  const metrics = await worker.metrics.registry.getSingleMetricAsString('supajobs_dead_letter_alerts_total');
  assert.match(metrics, /supajobs_dead_letter_alerts_total\{queue="mail"\} 1/);
});
