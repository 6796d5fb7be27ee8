import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { enqueue, uniqueQueue } from './queue-sql.js';

// A database of its own: the listeners registered here are the only ones.
const { pool, url } = await createTestDatabase();
const opened: pg.Client[] = [];

interface Listener {
  pid: number;
  /** Notifications heard: 'own' (its channel) or 'shared' (supajobs_jobs). */
  heard: string[];
  client: pg.Client;
}

/** A worker's LISTEN connection as the postgres transport makes it, registered for targeted wake-ups. */
async function listener(): Promise<Listener> {
  const client = new pg.Client({ connectionString: url, application_name: 'supajobs-listener' });
  opened.push(client);
  await client.connect();
  const pid = (client as unknown as { processID: number }).processID;
  const heard: string[] = [];
  client.on('notification', (m) => heard.push(m.channel === 'supajobs_jobs' ? 'shared' : m.channel === `supajobs_jobs_${pid}` ? 'own' : m.channel));
  await client.query(`listen supajobs_jobs; listen supajobs_jobs_${pid}`);
  const { rows } = await client.query<{ channel: string }>('select public.register_wake_up_listener() as channel');
  assert.equal(rows[0]?.channel, `supajobs_jobs_${pid}`);
  return { pid, heard, client };
}

/** Runs insert, then gives every listener what it heard meanwhile. */
async function heardAfter(listeners: Listener[], insert: () => Promise<unknown>): Promise<string[][]> {
  for (const l of listeners) l.heard.length = 0;
  await insert();
  await sleep(150);
  return listeners.map((l) => [...l.heard]);
}

test('a statement that makes fewer jobs ready than there are listeners wakes that many, taking turns; more, or a future run_at, wakes all', async () => {
  const listeners = await Promise.all([listener(), listener(), listener()]);
  const queue = uniqueQueue();
  try {
    // One job: one listener hears it, on its own channel; nobody on the shared one.
    const told: number[] = [];
    for (let i = 0; i < 6; i++) {
      const heard = await heardAfter(listeners, () => enqueue(pool, [{ task: 't', queue }]));
      assert.deepEqual(heard.flat(), ['own'], `single job ${i}: ${JSON.stringify(heard)}`);
      told.push(heard.findIndex((h) => h.length > 0));
    }
    // Turns: six single jobs over three listeners reach each of them twice.
    assert.deepEqual([0, 1, 2].map((n) => told.filter((t) => t === n).length), [2, 2, 2], `turns: ${told.join(',')}`);

    // Two jobs in one statement: two different listeners.
    const two = await heardAfter(listeners, () => enqueue(pool, [{ task: 't', queue }, { task: 't', queue }]));
    assert.deepEqual(two.map((h) => h.length).sort(), [0, 1, 1]);
    assert.deepEqual(two.flat(), ['own', 'own']);

    // As many jobs as listeners: everyone, on the shared channel.
    const three = await heardAfter(listeners, () => enqueue(pool, [{ task: 't', queue }, { task: 't', queue }, { task: 't', queue }]));
    assert.deepEqual(three, [['shared'], ['shared'], ['shared']]);

    // A future run_at is for every worker's timer.
    const later = await heardAfter(listeners, () => enqueue(pool, [{ task: 't', queue, run_at: new Date(Date.now() + 60_000).toISOString() }]));
    assert.deepEqual(later, [['shared'], ['shared'], ['shared']]);

    // A listener whose connection ended is never told again, and goes at the next registration.
    const [gone, ...live] = listeners as [Listener, ...Listener[]];
    await gone.client.end();
    for (let i = 0; i < 4; i++) {
      const heard = await heardAfter(live, () => enqueue(pool, [{ task: 't', queue }]));
      assert.deepEqual(heard.flat(), ['own'], `after one left, single job ${i}: ${JSON.stringify(heard)}`);
    }
    const again = await listener();
    live.push(again);
    const { rows } = await pool.query<{ pid: number }>('select pid from supajobs.wake_up_listeners order by pid');
    assert.deepEqual(rows.map((r) => r.pid), live.map((l) => l.pid).sort((a, b) => a - b));
  } finally {
    await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
  }
});

test('with no listener registered, or none of them alive, every wake-up goes to the shared channel', async () => {
  await pool.query('delete from supajobs.wake_up_listeners');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const heard: string[] = [];
  client.on('notification', (m) => heard.push(m.channel));
  await client.query('listen supajobs_jobs');
  try {
    await enqueue(pool, [{ task: 't', queue: uniqueQueue() }]);
    // A registration whose connection holds no listener's lock (gone) counts for nothing.
    await pool.query('insert into supajobs.wake_up_listeners (pid) values (pg_backend_pid())');
    await enqueue(pool, [{ task: 't', queue: uniqueQueue() }]);
    await sleep(150);
    assert.deepEqual(heard, ['supajobs_jobs', 'supajobs_jobs']);
  } finally {
    await client.end();
  }
});
