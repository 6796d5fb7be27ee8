import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../../src/migrate.js';
import { startThrowawayServer, type ThrowawayServer } from '../../support/database-server.js';
import { claimOne, enqueueOne, expireLeases, uniqueQueue, uniqueWorker } from './queue-sql.js';

// pg_stat_statements counts how often each statement inside the functions is planned. It must be
// preloaded, so this file starts an embedded server of its own (and has it to itself: the shared
// test server's other databases would push entries out of the statistics).
let server: ThrowawayServer;
let client: pg.Client;

before(async () => {
  server = await startThrowawayServer(
    {
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': 'all',
      'pg_stat_statements.track_planning': 'on',
      fsync: 'off',
      synchronous_commit: 'off',
    },
    'supajobs-plans-pg-',
  );
  await migrate(server.url);
  client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('create extension pg_stat_statements');
});

after(async () => {
  await client?.end();
  await server?.stop();
});

/** Plans and calls so far of the statements inside the functions, by a text each contains. */
async function counts(marks: Record<string, string>): Promise<Record<string, { plans: number; calls: number }>> {
  const { rows } = await client.query<{ query: string; plans: string; calls: string }>(
    // The migrations' own statements (a CREATE FUNCTION contains the same texts) are left out.
    `select query, plans, calls from pg_stat_statements
     where not toplevel and dbid = (select oid from pg_database where datname = current_database()) and query !~* '^\\s*create'`,
  );
  const result: Record<string, { plans: number; calls: number }> = {};
  for (const [name, mark] of Object.entries(marks)) {
    const matching = rows.filter((r) => r.query.includes(mark));
    assert.equal(matching.length, 1, `one statement of ${name} contains ${mark}: ${matching.map((r) => r.query).join(' | ')}`);
    result[name] = { plans: Number(matching[0]?.plans), calls: Number(matching[0]?.calls) };
  }
  return result;
}

test("the calls a worker makes for one job use kept plans, not a new plan per call", async () => {
  const queue = uniqueQueue();
  const worker = uniqueWorker();
  const round = async () => {
    const id = await enqueueOne(client, { task: 'plans', queue });
    const job = await claimOne(client, worker, queue);
    await client.query('select public.heartbeat_jobs($1, $2::uuid[], 60)', [worker, [id]]);
    await client.query('select public.update_job_progress($1, $2, null, $3::jsonb, $4)', [id, worker, '{"done":1}', job.attempts]);
    await client.query('select public.get_job_steps($1)', [id]);
    await client.query('select public.get_dependency_results($1)', [id]);
    await client.query('select public.complete_jobs($1, $2::uuid[], null, $3::int[])', [worker, [id], [job.attempts]]);
    const released = await enqueueOne(client, { task: 'plans', queue });
    await claimOne(client, worker, queue);
    await client.query("select public.release_jobs($1, $2::uuid[], 'stopping')", [worker, [released]]);
    await claimOne(client, worker, queue);
    await expireLeases(client, [released]);
    await client.query('select public.reclaim_expired_jobs()');
  };
  // Each statement's text, as the functions write it.
  const marks = {
    complete_jobs: 'complete_jobs.ids',
    heartbeat_jobs: 'heartbeat_jobs.ids',
    update_job_progress: 'update_job_progress.id',
    release_jobs: 'release_jobs.ids',
    reclaim_expired_jobs: 'e.lease_expires_at < now()',
    get_job_steps: 'get_job_steps.id',
    get_dependency_results: 'get_dependency_results.id',
  };
  // PostgreSQL plans a statement a few times before it settles on the plan it keeps.
  for (let i = 0; i < 8; i++) await round();
  const before = await counts(marks);
  const ROUNDS = 12;
  for (let i = 0; i < ROUNDS; i++) await round();
  const now = await counts(marks);
  const replanned: string[] = [];
  for (const name of Object.keys(marks)) {
    const calls = (now[name]?.calls ?? 0) - (before[name]?.calls ?? 0);
    const plans = (now[name]?.plans ?? 0) - (before[name]?.plans ?? 0);
    assert.equal(calls, ROUNDS, `${name}: ${calls} calls`);
    // One more plan is allowed: an autoanalyze of jobs in between makes the kept plan stale.
    if (plans > 1) replanned.push(`${name}: ${plans} plans in ${ROUNDS} calls`);
  }
  assert.deepEqual(replanned, []);
});
