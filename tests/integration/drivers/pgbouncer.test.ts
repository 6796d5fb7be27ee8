/**
 * The postgres transport behind a real PgBouncer in transaction mode, on a port of its own and a
 * plain URL (nothing in it says "pooler"): backends are shared between clients, so named
 * prepared statements collide and LISTEN never receives. Skipped, with the reason, where
 * PgBouncer is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PostgresDriver } from '../../../src/drivers/postgres/driver.js';
import { migrate } from '../../../src/migrate.js';
import { createTestDatabase, serverUrl } from '../../support/database.js';
import { captureLogs } from '../../support/logs.js';
import { pgbouncerMissing, startPgBouncer, type PgBouncer } from '../../support/pgbouncer.js';
import { runCli } from '../../support/worker-process.js';
import { waitFor } from './conformance.js';

const missing = await pgbouncerMissing();
if (missing) console.log(`# skipping the PgBouncer tests: ${missing}`);
const POOL_SIZE = 3;

/**
 * A test database whose backends PgBouncer's idle server connections are closed before the drop
 * (DROP DATABASE otherwise waits for them).
 */
async function databaseBehindBouncer(options: { migrate?: boolean } = {}) {
  const db = await createTestDatabase(options);
  db.onDrop(() => db.pool.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()'));
  return db;
}

/** What other workers leave on the shared backends: every one of them has these names prepared. */
async function prepareOnEveryBackend(url: string, names: string[]): Promise<void> {
  const clients = await Promise.all(Array.from({ length: POOL_SIZE }, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }));
  // A transaction holds its backend: POOL_SIZE open transactions hold every backend at once.
  await Promise.all(clients.map((c) => c.query('begin')));
  for (const client of clients) {
    for (const name of names) await client.query(`prepare ${name} as select 1`).catch(() => undefined);
  }
  await Promise.all(clients.map((c) => c.query('commit').then(() => c.end())));
}

describe('behind PgBouncer in transaction mode', { skip: missing }, () => {
  let bouncer: PgBouncer;
  before(async () => {
    bouncer = await startPgBouncer(serverUrl(), { poolSize: POOL_SIZE });
  });
  after(async () => {
    await bouncer?.stop();
  });

  test('a worker starts, pings, enqueues and claims; wake-ups are poll-only, proved by a NOTIFY that never came', async () => {
    const db = await databaseBehindBouncer();
    const url = bouncer.urlFor(db.url);
    await prepareOnEveryBackend(url, ['supajobs_ping', 'supajobs_enqueue_jobs', 'supajobs_claim_jobs', 'supajobs_complete_jobs']);
    const logs = captureLogs();
    const driver = new PostgresDriver({ connectionString: url, logger: logs.logger, poolSize: 4 });
    db.onDrop(() => driver.stop());
    await driver.start();
    await waitFor(() => driver.wakeUps.mode === 'poll-only', 20_000);
    assert.match(driver.wakeUps.reason ?? '', /receives no notifications/);
    const ids = await driver.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ task: 'echo', payload: { i } })));
    const claimed: string[] = [];
    for (let round = 0; round < 20 && claimed.length < ids.length; round++) {
      const jobs = await driver.claim({ workerId: 'bounced', queues: null, batchSize: 7, leaseSeconds: 30 });
      const done = await driver.complete('bounced', jobs.map((j) => ({ id: j.id, attempt: j.attempts, result: null })));
      assert.deepEqual(done.sort(), jobs.map((j) => j.id).sort());
      claimed.push(...done);
    }
    assert.deepEqual(claimed.sort(), [...ids].sort());
    await driver.ping();
    const text = logs.text();
    assert.match(text, /prepared statements collide/);
    assert.match(text, /LISTEN receives no notifications/);
    assert.doesNotMatch(text, /wake-ups are live/);
  });

  test('the CLI: migrate, enqueue and stats succeed every time', async () => {
    const db = await databaseBehindBouncer({ migrate: false });
    const url = bouncer.urlFor(db.url);
    await prepareOnEveryBackend(url, ['supajobs_ping', 'supajobs_enqueue_jobs', 'supajobs_get_queue_stats']);
    for (const args of [['migrate'], ['enqueue', 'echo', '{"n":1}'], ['enqueue', 'echo', '{"n":2}'], ['stats']]) {
      const run = await runCli(args, { DATABASE_URL: url });
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    }
    const { rows } = await db.pool.query('select count(*)::int as n from jobs');
    assert.equal(rows[0].n, 2);
  });

  test('migrate through the pooler leaves no advisory lock on any backend', async () => {
    for (let run = 0; run < 3; run++) {
      const db = await databaseBehindBouncer({ migrate: false });
      const url = bouncer.urlFor(db.url);
      // Other clients keep the backends busy, so consecutive statements land on different ones.
      const noise = new pg.Pool({ connectionString: url, max: POOL_SIZE });
      let stop = false;
      const busy = Promise.all(Array.from({ length: POOL_SIZE }, async () => {
        while (!stop) await noise.query('select pg_sleep(0.005)').catch(() => undefined);
      }));
      try {
        await Promise.all([migrate(url), migrate(url)]);
      } finally {
        stop = true;
        await busy;
        await noise.end();
      }
      const { rows } = await db.pool.query(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 7231004 and database = (select oid from pg_database where datname = current_database())",
      );
      assert.equal(rows[0].n, 0, `run ${run}: an advisory lock stayed behind`);
      assert.deepEqual((await migrate(url)).applied, [], 'and the next migrate does not hang');
    }
  });
});
