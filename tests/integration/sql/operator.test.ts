import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../../support/database.js';
import { asRole, assertSqlState, claimOne, enqueue, uniqueQueue, uniqueWorker } from './queue-sql.js';

const db = await createTestDatabase();
const { pool } = db;

async function listAll(args: Record<string, unknown>, pageSize: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const { rows }: { rows: { cursor: string; job: { id: string } }[] } = await pool.query(
      'select * from list_jobs(queue => $1, group_key => $2, after_cursor => $3, page_size => $4)',
      [args.queue ?? null, args.group ?? null, cursor, pageSize],
    );
    pages++;
    ids.push(...rows.map((r) => r.job.id));
    if (rows.length < pageSize) return { ids, pages };
    cursor = rows[rows.length - 1]!.cursor;
  }
}

test('group_key is set by enqueue_job, enqueue_jobs and an end user through RLS', async () => {
  const group = `upload-${randomUUID()}`;
  const { rows: [one] } = await pool.query('select enqueue_job($1, group_key => $2) as id', ['t', group]);
  const [two] = await enqueue(pool, [{ task: 't', group_key: group } as never]);
  await pool.query("insert into public.job_client_tasks (task) values ('user-task') on conflict do nothing");
  const user = randomUUID();
  const { rows: [mine] } = await asRole(pool, 'authenticated', (c) =>
    c.query("insert into public.jobs (task, group_key) values ('user-task', $1) returning id", [group]), user);
  const { rows } = await pool.query('select id from jobs where group_key = $1 order by created_at', [group]);
  assert.deepEqual(rows.map((r) => r.id).sort(), [one.id, two, mine.id].sort());
  const { rows: [stats] } = await pool.query('select * from get_group_stats($1)', [group]);
  assert.equal(Number(stats.total), 3);
  assert.equal(Number(stats.pending), 3);
});

test('a bad group_key is refused with 22023 naming it', async () => {
  await assertSqlState(enqueue(pool, [{ task: 't', group_key: 5 } as never]), '22023');
  await assertSqlState(enqueue(pool, [{ task: 't', group_key: '' } as never]), '22023');
});

test('keyset pages list every job once, newest first, while jobs are inserted between pages', async () => {
  const queue = uniqueQueue();
  const first = await enqueue(pool, Array.from({ length: 25 }, (_, i) => ({ task: 't', queue, payload: { i } })));
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; ; page++) {
    const { rows }: { rows: { cursor: string; job: { id: string } }[] } = await pool.query(
      'select * from list_jobs(queue => $1, after_cursor => $2, page_size => 4)', [queue, cursor]);
    seen.push(...rows.map((r) => r.job.id));
    // Others add jobs while the reader pages on.
    await enqueue(pool, [{ task: 't', queue }, { task: 't', queue }]);
    if (rows.length < 4) break;
    cursor = rows[rows.length - 1]!.cursor;
  }
  assert.deepEqual([...seen].sort(), [...first].sort(), 'each original job exactly once');
  assert.equal(new Set(seen).size, seen.length);
});

test('filters: status (waiting too), task, group, created range; a bad status or cursor is 22023', async () => {
  const queue = uniqueQueue();
  const group = `g-${randomUUID()}`;
  await enqueue(pool, [{ task: 'a', queue, group_key: group } as never, { task: 'b', queue }]);
  const task = async (args: string, values: unknown[]) =>
    (await pool.query(`select job->>'task' as task from list_jobs(${args})`, values)).rows.map((r) => r.task);
  assert.deepEqual(await task('queue => $1, task => $2', [queue, 'b']), ['b']);
  assert.deepEqual(await task('group_key => $1', [group]), ['a']);
  assert.deepEqual(await task('queue => $1, status => $2', [queue, 'failed']), []);
  const [first] = (await pool.query(`select job->>'id' as id from list_jobs(queue => $1, task => 'a')`, [queue])).rows;
  await pool.query('select enqueue_flow($1)', [JSON.stringify([{ task: 'c', queue, depends_on: [first.id] }])]);
  assert.deepEqual(await task('queue => $1, status => $2', [queue, 'waiting']), ['c']);
  assert.deepEqual(await task('queue => $1, created_after => $2', [queue, new Date(Date.now() + 60_000)]), []);
  assert.equal((await task('queue => $1, created_before => $2', [queue, new Date(Date.now() + 60_000)])).length, 3);
  await assertSqlState(pool.query("select * from list_jobs(status => 'lost')"), '22023');
  await assertSqlState(pool.query("select * from list_jobs(after_cursor => 'nonsense')"), '22023');
  await assertSqlState(pool.query('select * from list_jobs(page_size => 0)'), '22023');
});

test('bulk retry and cancel by group touch only that group', async () => {
  const queue = uniqueQueue();
  const group = `g-${randomUUID()}`;
  const ids = await enqueue(pool, [1, 2, 3].map(() => ({ task: 't', queue, group_key: group }) as never));
  const [other] = await enqueue(pool, [{ task: 't', queue }]);
  await pool.query("update jobs set status = 'failed', failed_at = now(), attempts = 5 where id = any($1::uuid[])", [[...ids, other]]);
  const { rows: [retried] } = await pool.query('select retry_jobs(group_key => $1) as n', [group]);
  assert.equal(retried.n, 3);
  const { rows } = await pool.query('select id, status, attempts from jobs where id = any($1::uuid[])', [[...ids, other]]);
  for (const row of rows) assert.deepEqual([row.status, row.attempts], row.id === other ? ['failed', 5] : ['pending', 0]);
  const { rows: [cancelled] } = await pool.query('select cancel_jobs(group_key => $1) as n', [group]);
  assert.equal(cancelled.n, 3);
  const { rows: [stats] } = await pool.query('select * from get_group_stats($1)', [group]);
  assert.equal(Number(stats.cancelled), 3);
  await assertSqlState(pool.query("select retry_jobs(status => 'pending')"), '22023');
});

test('get_job returns the row and its history; list_job_events follows new events', async () => {
  const queue = uniqueQueue();
  const { rows: [{ id: last }] } = await pool.query('select max(id) as id from job_events');
  const [id] = await enqueue(pool, [{ task: 't', queue }]);
  const worker = uniqueWorker();
  await claimOne(pool, worker, queue);
  await pool.query('select complete_job($1, $2)', [id, worker]);
  const { rows: [{ detail }] } = await pool.query('select get_job($1) as detail', [id]);
  assert.equal(detail.job.status, 'completed');
  assert.deepEqual(detail.events.map((e: { event: string }) => e.event), ['enqueued', 'processing', 'completed']);
  const { rows: after } = await pool.query('select * from list_job_events(after_id => $1)', [last]);
  assert.deepEqual(after.filter((e) => e.job_id === id).map((e) => e.event), ['enqueued', 'processing', 'completed']);
  const { rows: recent } = await pool.query('select * from list_job_events(max_rows => 2)');
  assert.deepEqual(recent.map((e) => e.event), ['completed', 'processing']);
  const { rows: [none] } = await pool.query('select get_job($1) as detail', [randomUUID()]);
  assert.equal(none.detail, null);
});

test('get_queue_overview: live counts (waiting too), dead letters and the last hour per minute', async () => {
  const queue = uniqueQueue();
  const ids = await enqueue(pool, [1, 2, 3, 4].map(() => ({ task: 't', queue })));
  const [scheduled] = await enqueue(pool, [{ task: 't', queue, run_at: new Date(Date.now() + 3_600_000).toISOString() }]);
  await pool.query('select enqueue_flow($1)', [JSON.stringify([{ task: 't', queue, depends_on: [scheduled] }])]);
  const worker = uniqueWorker();
  const done = await claimOne(pool, worker, queue);
  await pool.query('select complete_job($1, $2)', [done.id, worker]);
  const failed = await claimOne(pool, worker, queue);
  await pool.query("select fail_job($1, $2, 'X', retryable => false)", [failed.id, worker]);
  await claimOne(pool, worker, queue);
  const { rows: [row] } = await pool.query('select * from get_queue_overview() where queue = $1', [queue]);
  assert.equal(ids.length, 4);
  assert.deepEqual(
    [row.pending, row.scheduled, row.waiting, row.processing, row.failed, row.completed_last_hour, row.failed_last_hour].map(Number),
    [1, 1, 1, 1, 1, 1, 1],
  );
  assert.equal(row.success_rate, 0.5);
  assert.equal(row.completions_per_minute.length, 60);
  assert.equal(row.completions_per_minute.reduce((a: number, b: number) => a + b, 0), 1);
});

test('the operator functions are for service_role only', async () => {
  for (const sql of ['select * from list_jobs()', 'select get_job(gen_random_uuid())', 'select retry_jobs()', 'select * from get_queue_overview()', 'select * from list_job_events()']) {
    await assertSqlState(asRole(pool, 'authenticated', (c) => c.query(sql), randomUUID()), '42501', sql);
  }
});
