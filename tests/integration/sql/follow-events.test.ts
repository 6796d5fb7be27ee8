/**
 * follow_job_events: a follower of history gets every committed event once, also one whose
 * transaction drew its id before later ones and committed after them; gaps of rolled-back ids
 * are let go once no transaction can fill them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { assertSqlState, enqueueOne, uniqueQueue } from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

interface Follow {
  events: { id: number; job_id: string; event: string }[];
  cursor: { after: number; gaps: [number, number, string][] };
  more: boolean;
}

async function follow(cursor: Follow['cursor'] | null, maxRows = 500): Promise<Follow> {
  const { rows: [row] } = await pool.query('select follow_job_events($1::jsonb, $2) as value', [cursor === null ? null : JSON.stringify(cursor), maxRows]);
  return row.value;
}

/** An open transaction that has enqueued a job (its event id drawn, not committed). */
async function heldEnqueue(queue: string): Promise<{ id: string; client: pg.PoolClient }> {
  const client = await pool.connect();
  await client.query('begin');
  const id = await enqueueOne(client, { task: 'late', queue });
  return { id, client };
}

test('an event committed after later ones is delivered when it commits, once', async () => {
  const queue = uniqueQueue();
  let look = await follow(null);
  const held = await heldEnqueue(queue);
  const later = await enqueueOne(pool, { task: 'early', queue });
  look = await follow(look.cursor);
  assert.deepEqual(look.events.map((e) => e.job_id), [later]);
  assert.equal(look.cursor.gaps.length, 1, 'the held transaction\'s id is followed as a gap');
  await held.client.query('commit');
  held.client.release();
  look = await follow(look.cursor);
  assert.deepEqual(look.events.map((e) => e.job_id), [held.id]);
  assert.ok(look.events[0]!.id < look.cursor.after);
  look = await follow(look.cursor);
  assert.deepEqual(look.events, []);
  assert.deepEqual(look.cursor.gaps, [], 'filled, the gap is gone');
});

test('a start follows the transactions already under way', async () => {
  const queue = uniqueQueue();
  const held = await heldEnqueue(queue);
  let look = await follow(null);
  assert.deepEqual(look.events, []);
  await held.client.query('commit');
  held.client.release();
  look = await follow(look.cursor);
  assert.deepEqual(look.events.map((e) => e.job_id), [held.id]);
});

test('a rolled-back id is let go once no transaction can fill it', async () => {
  const queue = uniqueQueue();
  let look = await follow(null);
  const held = await heldEnqueue(queue);
  await enqueueOne(pool, { task: 'early', queue });
  look = await follow(look.cursor);
  assert.equal(look.cursor.gaps.length, 1);
  await held.client.query('rollback');
  held.client.release();
  // Let go once the oldest transaction still running in the cluster is younger than the look
  // that found the gap (other sessions on a shared server may hold it back a while).
  for (const deadline = Date.now() + 20_000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
    look = await follow(look.cursor);
    assert.deepEqual(look.events, []);
    if (look.cursor.gaps.length === 0 || Date.now() > deadline) break;
  }
  assert.deepEqual(look.cursor.gaps, []);
});

test('pages of max_rows say more; a bad cursor, or a caller that has written, is 22023', async () => {
  const queue = uniqueQueue();
  let look = await follow(null);
  for (let i = 0; i < 5; i++) await enqueueOne(pool, { task: 't', queue });
  look = await follow(look.cursor, 3);
  assert.equal(look.events.length, 3);
  assert.equal(look.more, true);
  look = await follow(look.cursor, 3);
  assert.deepEqual([look.events.length, look.more], [2, false]);
  await assertSqlState(pool.query(`select follow_job_events('{"after": "x"}')`), '22023');
  await assertSqlState(pool.query(`select follow_job_events('{"after": 1, "gaps": [["a", 2, "1"]]}')`), '22023');
  const client = await pool.connect();
  try {
    await client.query('begin');
    await enqueueOne(client, { task: 't', queue });
    await assertSqlState(client.query('select follow_job_events(null)'), '22023');
  } finally {
    await client.query('rollback');
    client.release();
  }
});
