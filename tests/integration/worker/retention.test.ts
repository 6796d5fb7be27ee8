/**
 * Retention: a worker configured with RETENTION_* purges what is past it by itself, in batches,
 * counted in /metrics; JobRetention stops cleanly mid-pass; purgers running at once (clients,
 * retention passes) delete every job exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { createMetrics } from '../../../src/metrics.js';
import { QueueClient } from '../../../src/queue/client.js';
import { JobRetention } from '../../../src/queue/job-retention.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { captureLogs } from '../../support/logs.js';
import { startTestWorker, waitUntil } from '../../support/worker.js';

/** `count` jobs of the status, last changed `daysAgo`, each with its history row (the insert trigger). */
async function insertJobs(db: TestDatabase, status: string, count: number, daysAgo: number): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into jobs (task, status, attempts, locked_by, updated_at)
     select 't', $1, 1, case when $1 = 'processing' then 'someone' end, now() - make_interval(days => $3) - n * interval '1 second'
     from generate_series(1, $2) n returning id`,
    [status, count, daysAgo],
  );
  return rows.map((r) => r.id);
}

async function present(db: TestDatabase, ids: string[]): Promise<number> {
  return (await db.pool.query('select 1 from jobs where id = any ($1)', [ids])).rowCount ?? 0;
}

async function history(db: TestDatabase, ids: string[]): Promise<number> {
  return (await db.pool.query('select 1 from job_events where job_id = any ($1)', [ids])).rowCount ?? 0;
}

async function driverOn(db: TestDatabase): Promise<PostgresDriver> {
  const driver = new PostgresDriver({ connectionString: db.url, logger: captureLogs().logger, listen: false });
  await driver.start();
  db.onDrop(() => driver.stop());
  return driver;
}

async function purgedCount(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  return (await metrics.jobsPurged.get()).values[0]?.value ?? 0;
}

test('a worker with RETENTION_* set purges the old finished jobs by itself, counts them in /metrics, and keeps the rest', async () => {
  const db = await createTestDatabase();
  const gone = [
    ...(await insertJobs(db, 'completed', 20, 8)),
    ...(await insertJobs(db, 'cancelled', 3, 9)),
    ...(await insertJobs(db, 'failed', 2, 31)),
  ];
  const kept = [
    ...(await insertJobs(db, 'completed', 4, 6)),
    ...(await insertJobs(db, 'failed', 2, 29)),
    ...(await insertJobs(db, 'pending', 2, 60)),
    ...(await insertJobs(db, 'processing', 2, 60)),
  ];
  const keptHistory = await history(db, kept);
  const { worker } = await startTestWorker(db, {}, {
    QUEUES: 'not-these-jobs', // so that the pending ones stay pending
    RETENTION_COMPLETED_SECONDS: String(7 * 86_400),
    RETENTION_FAILED_SECONDS: String(30 * 86_400),
    RETENTION_INTERVAL_MS: '1000',
    RETENTION_BATCH_SIZE: '6',
    RETENTION_BATCH_PAUSE_MS: '0',
  });
  const scrape = async () => (await fetch(`http://127.0.0.1:${worker.healthAddress!.port}/metrics`)).text();
  assert.match(await scrape(), /^supajobs_jobs_purged_total 0$/m, 'the series starts at 0');

  await waitUntil(async () => (await present(db, gone)) === 0);
  await waitUntil(async () => /^supajobs_jobs_purged_total 25$/m.test(await scrape()));
  assert.equal(await history(db, gone), 0);
  assert.equal(await present(db, kept), kept.length);
  assert.equal(await history(db, kept), keptHistory);
  await worker.stop();
  assert.equal(worker.state, 'stopped');
});

test('JobRetention.stop() ends a pass after its current batch, and no pass starts after it', async () => {
  const db = await createTestDatabase();
  const old = await insertJobs(db, 'completed', 60, 30);
  const metrics = createMetrics();
  const retention = new JobRetention({
    driver: await driverOn(db),
    logger: captureLogs().logger,
    metrics,
    rules: [{ statuses: ['completed'], olderThanSeconds: 86_400 }],
    intervalMs: 3_600_000,
    batchSize: 5,
    pauseMs: 300,
  });
  retention.start();
  const pass = retention.purgeOnce();
  await waitUntil(async () => (await purgedCount(metrics)) >= 5);
  await retention.stop();
  await pass;
  const purged = await purgedCount(metrics);
  const left = await present(db, old);
  assert.ok(left > 0, 'stopped before the end');
  assert.equal(purged + left, old.length, 'the counter says what went');

  await retention.purgeOnce();
  retention.start();
  assert.equal(await present(db, old), left);
});

test('purgers running at once delete every job exactly once: two clients, then two retention passes', async () => {
  const db = await createTestDatabase();
  const [a, b] = [new QueueClient(await driverOn(db), { close: async () => {} }), new QueueClient(await driverOn(db), { close: async () => {} })];
  const first = await insertJobs(db, 'completed', 1_500, 10);
  const counts = await Promise.all([a, b].map((client) => client.purge(86_400, ['completed'], { batchSize: 40, pauseMs: 0 })));
  assert.equal(counts[0]! + counts[1]!, first.length, `${counts.join(' + ')}`);
  assert.equal(await present(db, first), 0);

  const second = await insertJobs(db, 'completed', 1_500, 10);
  const retentions = await Promise.all(
    [1, 2].map(async () => {
      const metrics = createMetrics();
      const retention = new JobRetention({
        driver: await driverOn(db),
        logger: captureLogs().logger,
        metrics,
        rules: [{ statuses: ['completed'], olderThanSeconds: 86_400 }],
        intervalMs: 3_600_000,
        batchSize: 40,
        pauseMs: 0,
      });
      return { retention, metrics };
    }),
  );
  await Promise.all(retentions.map(({ retention }) => retention.purgeOnce()));
  const purged = await Promise.all(retentions.map(({ metrics }) => purgedCount(metrics)));
  assert.equal(purged[0]! + purged[1]!, second.length, `${purged.join(' + ')}`);
  assert.equal(await present(db, second), 0);
  assert.equal(await history(db, [...first, ...second]), 0);
});
