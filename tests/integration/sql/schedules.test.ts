/**
 * Schedules in the SQL contract: schedule_job (upsert), unschedule_job, set_schedule_enabled,
 * sync_job_schedules and fire_schedule, which turns each tick into one job however many callers
 * fire it at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { assertSqlState, uniqueQueue } from './queue-sql.js';

const { pool, url } = await createTestDatabase();

const schedule = async (name: string, cron = '* * * * * *', extra: Record<string, unknown> = {}) => {
  const { rows } = await pool.query('select * from public.schedule_job(name => $1, cron => $2, task => $3, queue => $4, payload => $5::jsonb)', [
    name, cron, 'tick-task', extra.queue ?? uniqueQueue(), JSON.stringify(extra.payload ?? { from: name }),
  ]);
  return rows[0];
};

const jobsOf = async (name: string) =>
  (await pool.query<{ job_key: string; task: string; payload: unknown }>(
    "select job_key, task, payload from jobs where job_key like 'schedule:' || $1 || '@%' order by job_key", [name])).rows;

/** Ticks (whole seconds) from after the schedule's since up to the database's now. */
async function pastTicks(since: Date, count: number): Promise<Date[]> {
  const first = Math.floor(since.getTime() / 1000) * 1000 + 1000;
  return Array.from({ length: count }, (_, i) => new Date(first + i * 1000));
}

test('each tick becomes one job, however many connections fire it at once', async () => {
  const s = await schedule('every-second');
  // Pretend the schedule was made a minute ago (since is when its ticks begin).
  await pool.query("update job_schedules set since = now() - interval '60 seconds' where name = 'every-second'");
  const { rows: [row] } = await pool.query("select since from job_schedules where name = 'every-second'");
  const ticks = await pastTicks(row.since, 20);
  const clients = await Promise.all(Array.from({ length: 6 }, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  }));
  try {
    // Each connection fires overlapping ranges, in its own order.
    const fired = await Promise.all(clients.map((c, i) =>
      c.query('select * from public.fire_schedule(name => $1, ticks => $2::timestamptz[])', ['every-second', ticks.slice(i, i + 15)])));
    const total = fired.reduce((n, r) => n + r.rowCount!, 0);
    const jobs = await jobsOf('every-second');
    assert.equal(new Set(jobs.map((j) => j.job_key)).size, jobs.length, 'no tick twice');
    assert.equal(jobs.length, total, 'each reported tick is a job');
    assert.equal(jobs[0]?.task, 'tick-task');
    assert.deepEqual(jobs[0]?.payload, { from: 'every-second' });
    assert.equal(s.name, 'every-second');
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  // The key says schedule and tick.
  const { rows: [key] } = await pool.query("select public.job_schedule_key('n', '2026-03-29 01:00:00+00') as k");
  assert.equal(key.k, 'schedule:n@2026-03-29T01:00:00.000Z');
});

test('a tick at or before the last one, or in the future, is not enqueued; done ticks stay done after their jobs complete', async () => {
  await schedule('once');
  await pool.query("update job_schedules set since = now() - interval '10 seconds' where name = 'once'");
  const { rows: [row] } = await pool.query("select since from job_schedules where name = 'once'");
  const [t1, t2] = await pastTicks(row.since, 2);
  const fire = (ticks: Date[], skip: Date | null = null) =>
    pool.query('select * from public.fire_schedule(name => $1, ticks => $2::timestamptz[], skip_through => $3)', ['once', ticks, skip]);
  assert.equal((await fire([t2 as Date])).rowCount, 1);
  // t1 is older than the last tick: it is not enqueued late.
  assert.equal((await fire([t1 as Date, t2 as Date])).rowCount, 0);
  // Its job finishes (no live job_key any more): firing it again still enqueues nothing.
  await pool.query("update jobs set status = 'completed' where job_key like 'schedule:once@%'");
  assert.equal((await fire([t2 as Date])).rowCount, 0);
  assert.equal((await fire([new Date(Date.now() + 60_000)])).rowCount, 0, 'a future tick');
  // skip_through passes over missed ticks without a job.
  const skipTo = new Date((t2 as Date).getTime() + 3000);
  assert.equal((await fire([], skipTo)).rowCount, 0);
  const { rows: [after] } = await pool.query("select last_tick from job_schedules where name = 'once'");
  assert.equal(after.last_tick.getTime(), skipTo.getTime());
  assert.equal((await jobsOf('once')).length, 1);
});

test('schedule_job upserts by name; a new cron or time zone, or enabling again, starts its ticks from now', async () => {
  const first = await schedule('upsert', '0 * * * *');
  await pool.query("update job_schedules set since = '2020-01-01' where name = 'upsert'");
  const same = (await pool.query("select * from public.schedule_job(name => 'upsert', cron => '0 * * * *', task => 'other')")).rows[0];
  assert.equal(same.task, 'other');
  assert.equal(same.since.toISOString(), '2020-01-01T00:00:00.000Z', 'same cron: since kept');
  const changed = (await pool.query("select * from public.schedule_job(name => 'upsert', cron => '5 * * * *', task => 'other', timezone => 'America/New_York')")).rows[0];
  assert.ok(changed.since > first.since, 'new cron: since moved');
  await pool.query("update job_schedules set since = '2020-01-01' where name = 'upsert'");
  const off = (await pool.query("select * from public.set_schedule_enabled(name => 'upsert', enabled => false)")).rows[0];
  assert.equal(off.enabled, false);
  assert.equal((await pool.query("select * from public.fire_schedule(name => 'upsert', ticks => array[now() - interval '1 minute'])")).rowCount, 0, 'disabled: nothing fires');
  const on = (await pool.query("select * from public.set_schedule_enabled(name => 'upsert', enabled => true)")).rows[0];
  assert.ok(on.since > new Date('2021-01-01'), 'enabled again: since moved');
  assert.equal((await pool.query("select * from public.unschedule_job(name => 'upsert')")).rowCount, 1);
  assert.equal((await pool.query("select * from public.unschedule_job(name => 'upsert')")).rowCount, 0);
});

test('sync_job_schedules: upserts the declared, keeps their enabled switch, removes what is no longer declared', async () => {
  await schedule('from-sql', '0 0 * * *');
  const declared = [{ name: 'code-a', cron: '0 3 * * *', task: 'report', timezone: 'Europe/Berlin' }, { name: 'code-b', cron: '*/5 * * * *', task: 'poll' }];
  const { rows } = await pool.query('select * from public.sync_job_schedules(schedules => $1::jsonb)', [JSON.stringify(declared)]);
  assert.deepEqual(rows.map((r) => [r.name, r.origin]), [['code-a', 'worker'], ['code-b', 'worker']]);
  await pool.query("select * from public.set_schedule_enabled(name => 'code-a', enabled => false)");
  await pool.query('select * from public.sync_job_schedules(schedules => $1::jsonb)', [JSON.stringify([{ ...declared[0], cron: '0 4 * * *' }])]);
  const { rows: all } = await pool.query('select name, cron, enabled, origin from public.get_job_schedules() order by name');
  const byName = new Map(all.map((r) => [r.name, r]));
  assert.equal(byName.get('code-a')?.cron, '0 4 * * *');
  assert.equal(byName.get('code-a')?.enabled, false, 'the operator\'s switch stays');
  assert.equal(byName.has('code-b'), false, 'no longer declared: removed');
  assert.equal(byName.get('from-sql')?.origin, 'sql', 'made by schedule_job: left alone');
});

test('arguments are checked: 22023', async () => {
  const bad = (sql: string, what: string) => assertSqlState(pool.query(sql), '22023', what);
  await bad("select * from public.schedule_job(name => 'b', cron => '* * *', task => 't')", 'three fields');
  await bad("select * from public.schedule_job(name => 'b', cron => '* * * * * * *', task => 't')", 'seven fields');
  await bad("select * from public.schedule_job(name => 'b', cron => '* * * * *', task => 't', timezone => 'Mars/Olympus')", 'time zone');
  await bad("select * from public.schedule_job(name => 'b', cron => '* * * * *', task => 't', missed => 'all')", 'missed');
  await bad("select * from public.schedule_job(name => '', cron => '* * * * *', task => 't')", 'name');
  await bad("select * from public.schedule_job(name => 'b', cron => '* * * * *', task => 't', priority => 5000)", 'priority');
  await bad("select * from public.sync_job_schedules(schedules => '{}')", 'not an array');
  await bad(`select * from public.sync_job_schedules(schedules => '[{"name": "x"}]')`, 'no cron');
});
