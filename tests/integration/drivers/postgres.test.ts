import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { usesTransactionPooler, withoutPoolerFlag } from '../../../src/drivers/postgres/pooler.js';
import { createTestDatabase } from '../../support/database.js';
import { captureLogs } from '../../support/logs.js';
import { driverConformance, waitFor } from './conformance.js';

driverConformance('postgres', async (db) => ({
  driver: new PostgresDriver({ connectionString: db.url, logger: captureLogs().logger }),
}));

test('a transaction pooler URL means poll-only and no prepared statements', async () => {
  assert.equal(usesTransactionPooler('postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres'), true);
  assert.equal(usesTransactionPooler('postgres://u:p@aws-0-eu.pooler.supabase.com:5432/postgres'), false);
  assert.equal(usesTransactionPooler('postgres://u:p@h/db?pgbouncer=true'), true);
  assert.equal(withoutPoolerFlag('postgres://u:p@h/db?pgbouncer=true&sslmode=disable'), 'postgres://u:p@h/db?sslmode=disable');

  const db = await createTestDatabase();
  const logs = captureLogs({ secrets: [db.url] });
  const driver = new PostgresDriver({ connectionString: `${db.url}?pgbouncer=true`, logger: logs.logger });
  await driver.start();
  try {
    assert.equal(driver.wakeUps.mode, 'poll-only');
    const id = await driver.enqueue({ task: 'echo' });
    const [job] = await driver.claim({ workerId: 'w', queues: null, batchSize: 1, leaseSeconds: 30 });
    assert.equal(job?.id, id);
    assert.ok(logs.lines().some((l) => String(l.msg).includes('transaction pooler')));
  } finally {
    await driver.stop();
  }
});

test('the LISTEN connection comes back after its backend is terminated, with a poll hint', async () => {
  const db = await createTestDatabase();
  const driver = new PostgresDriver({ connectionString: db.url, logger: captureLogs().logger });
  await driver.start();
  try {
    await waitFor(() => driver.wakeUps.mode === 'live');
    let hints = 0;
    driver.onWakeUp(() => hints++);
    await db.pool.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'supajobs-listener' and datname = current_database()");
    await waitFor(() => driver.wakeUps.mode === 'connecting' || hints > 0);
    await waitFor(() => driver.wakeUps.mode === 'live' && hints > 0);
    const before = hints;
    await db.pool.query("select enqueue_job('echo')");
    await waitFor(() => hints > before);
  } finally {
    await driver.stop();
  }
});
