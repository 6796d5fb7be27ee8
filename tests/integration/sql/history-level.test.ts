import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueClient } from '../../../src/queue/client.js';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { createTestDatabase } from '../../support/database.js';
import { asRole, assertSqlState, claimOne, enqueueOne, getEvents, makeReady, uniqueQueue, uniqueWorker } from './queue-sql.js';

// A database of its own: the level is one setting for every writer.
const { pool, url } = await createTestDatabase();

const events = async (id: string) => (await getEvents(pool, id)).map((e) => `${e.from_status ?? '-'}>${e.to_status}${e.stage ? `@${e.stage}` : ''}${e.error_code ? `:${e.error_code}` : ''}`);

test('lean: a job that goes well leaves no history; retries, failures, stages, cancels and operator actions still do', async (t) => {
  await pool.query("select public.set_job_history('lean')");
  t.after(() => pool.query("select public.set_job_history('full')"));
  const queue = uniqueQueue();
  const worker = uniqueWorker();

  const fine = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, worker, queue);
  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [fine, worker]);
  assert.deepEqual(await events(fine), []);

  const troubled = await enqueueOne(pool, { task: 't', queue, max_attempts: 2 });
  await claimOne(pool, worker, queue);
  await pool.query("select public.update_job_progress(id => $1, worker_id => $2, stage => 'fetch')", [troubled, worker]);
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E1')", [troubled, worker]);
  await makeReady(pool, [troubled]);
  await claimOne(pool, worker, queue);
  await pool.query("select public.fail_job(id => $1, worker_id => $2, error_code => 'E2')", [troubled, worker]);
  await pool.query('select public.retry_job(id => $1)', [troubled]);
  await pool.query('select public.cancel_job(id => $1)', [troubled]);
  assert.deepEqual(await events(troubled), [
    'processing>processing@fetch',
    'processing>pending@fetch:E1',
    'processing>failed@fetch:E2',
    'failed>pending@fetch',
    'pending>cancelled@fetch',
  ]);
});

test('full (the default): every change is recorded, as before', async () => {
  assert.equal((await pool.query('select public.job_history_level() as level')).rows[0].level, 'full');
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const id = await enqueueOne(pool, { task: 't', queue });
  await claimOne(pool, worker, queue);
  await pool.query('select public.complete_job(id => $1, worker_id => $2)', [id, worker]);
  assert.deepEqual(await events(id), ['->pending', 'pending>processing', 'processing>completed']);
});

test('only service_role sets the level: end users cannot, and no session setting skips history', async () => {
  for (const role of ['anon', 'authenticated'] as const) {
    await assertSqlState(asRole(pool, role, (c) => c.query("select public.set_job_history('lean')")), '42501', role);
    await assertSqlState(asRole(pool, role, (c) => c.query('select public.job_history_level()')), '42501', role);
  }
  await assertSqlState(pool.query("select public.set_job_history('none')"), '22023');
  await assertSqlState(asRole(pool, 'service_role', (c) => c.query("update supajobs.history_settings set level = 'lean'")), '42501');
  assert.equal(await asRole(pool, 'service_role', async (c) => (await c.query("select public.set_job_history('full') as level")).rows[0].level), 'full');
});

test('QueueClient reads and sets the level; a bad one is refused before any call', async (t) => {
  const driver = new PostgresDriver({ connectionString: url });
  await driver.start();
  const client = new QueueClient(driver);
  t.after(() => driver.stop());
  assert.equal(await client.historyLevel(), 'full');
  assert.equal(await client.setHistoryLevel('lean'), 'lean');
  assert.equal(await client.historyLevel(), 'lean');
  assert.equal(await client.setHistoryLevel('full'), 'full');
  await assert.rejects(client.setHistoryLevel('none' as 'full'), /level must be full or lean/);
});
