/**
 * Schedules and queue controls from the CLI (`supajobs schedules`, `supajobs queues`, `stats`)
 * and from the library (createWorker's declared schedules, QueueClient).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker } from '../../support/worker.js';
import { runCli } from '../../support/worker-process.js';
import { loadConfig } from '../../../src/config.js';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { QueueClient } from '../../../src/queue/client.js';
import { Worker } from '../../../src/worker.js';
import { captureLogs } from '../../support/logs.js';

test('CLI: add, list, disable and remove a schedule; pause and limit a queue; stats shows both', async () => {
  const db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, MIGRATE_ON_START: 'false' };
  const added = await runCli(['schedules', 'add', 'nightly', '0 3 * * *', 'report', '{"kind":"daily"}', '--timezone', 'Europe/Berlin', '--queue', 'reports'], env);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^schedule nightly saved; next tick \d{4}-\d\d-\d\dT0[12]:00:00\.000Z/);
  const bad = await runCli(['schedules', 'add', 'broken', '61 * * * *', 'report'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /61 \* \* \* \*/);
  assert.equal((await runCli(['queues', 'pause', 'reports'], env)).code, 0);
  assert.equal((await runCli(['queues', 'limit', 'mail', '--max-running', '2', '--max-per-second', '10'], env)).code, 0);
  assert.equal((await runCli(['schedules', 'disable', 'nightly'], env)).code, 0);
  const stats = await runCli(['stats'], env);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /^reports\s+paused/m);
  assert.match(stats.stdout, /^mail\s+running\s+0\/2\s+0\/10/m);
  assert.match(stats.stdout, /^nightly\s+0 3 \* \* \*\s+Europe\/Berlin\s+report\s+reports\s+disabled/m);
  assert.equal((await runCli(['schedules', 'remove', 'nightly'], env)).code, 0);
  const { rows } = await db.pool.query('select count(*) as n from job_schedules');
  assert.equal(Number(rows[0].n), 0);
});

test('library: declared schedules are synced at start and kept in step; an invalid one stops the start', async () => {
  const db = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: db.url, MIGRATE_ON_START: 'false', MONITOR_INTERVAL_MS: '0', HEALTH_CHECK_PORT: '0', HEALTH_CHECK_HOST: '127.0.0.1' });
  const start = async (schedules: ConstructorParameters<typeof Worker>[0]['schedules']) => {
    const worker = new Worker({ config, logger: captureLogs().logger, tasks: { report: () => 'ok' }, healthServer: false, schedules });
    db.onDrop(() => worker.shutdown.forceShutdown());
    await worker.start();
    return worker;
  };
  const first = await start([
    { name: 'report', cron: '0 3 * * *', task: 'report', timezone: 'America/New_York' },
    { name: 'cleanup', cron: '*/10 * * * * *', task: 'report', missed: 'skip' },
  ]);
  await first.stop();
  const driver = new PostgresDriver({ connectionString: db.url, logger: captureLogs().logger });
  const client = new QueueClient(driver);
  db.onDrop(() => client.close());
  assert.deepEqual((await client.schedules.list()).schedules.map((s) => [s.name, s.origin, s.missed]), [['cleanup', 'worker', 'skip'], ['report', 'worker', 'run_latest']]);
  await client.schedules.schedule({ name: 'by-hand', cron: '0 0 * * *', task: 'report' });
  // The next deploy declares one schedule: the other declared one goes, the hand-made one stays.
  const second = await start([{ name: 'report', cron: '0 4 * * *', task: 'report', timezone: 'America/New_York' }]);
  await second.stop();
  const after = (await client.schedules.list()).schedules;
  assert.deepEqual(after.map((s) => [s.name, s.cron]), [['by-hand', '0 0 * * *'], ['report', '0 4 * * *']]);
  await assert.rejects(start([{ name: 'bad', cron: 'every day', task: 'report' }]), /every day/);
  // Queue controls through the client.
  await client.queueControls.setLimits('pdf', { maxRunning: 3 });
  await client.queueControls.pause('pdf');
  assert.deepEqual((await client.queueControls.list()).map((c) => [c.queue, c.paused, c.maxRunning, c.maxPerSecond]), [['pdf', true, 3, null]]);
});

test('a worker started with a due schedule enqueues it and runs the job; /metrics shows schedules and controls', async () => {
  const db = await createTestDatabase();
  await db.pool.query("select * from schedule_job(name => 'often', cron => '* * * * * *', task => 'tick')");
  await db.pool.query("select * from set_queue_limits('default', max_per_second => 100)");
  let ran = 0;
  const { worker } = await startTestWorker(db, { tick: () => void ran++ }, { MONITOR_INTERVAL_MS: '200' });
  const deadline = Date.now() + 20_000;
  while (ran === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ran > 0, 'the scheduled job ran');
  const address = worker.healthAddress as { host: string; port: number };
  let metrics = '';
  for (let i = 0; i < 100 && !/supajobs_queue_max_per_second\{queue="default"\} 100/.test(metrics); i++) {
    metrics = await (await fetch(`http://${address.host}:${address.port}/metrics`)).text();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(metrics, /supajobs_schedule_enabled\{schedule="often"\} 1/);
  assert.match(metrics, /supajobs_schedule_ticks_enqueued_total\{schedule="often"\} [1-9]/);
  assert.match(metrics, /supajobs_queue_max_per_second\{queue="default"\} 100/);
  assert.match(metrics, /supajobs_queue_paused\{queue="default"\} 0/);
});
