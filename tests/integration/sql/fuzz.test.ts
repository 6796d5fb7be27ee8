/**
 * Hostile and malformed arguments to the queue functions, in random sequences. Each call either
 * succeeds or raises an error with a SQLSTATE (never an internal error), and after each call no
 * row is in a state the queue must never produce (see findInvalidRows).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { createTestDatabase } from '../../support/database.js';
import { findInvalidRows, finishedCountsDrift } from './queue-sql.js';

const { pool } = await createTestDatabase();

const WORKERS = ['w1', 'w2', 'w3'];
const QUEUES = ['default', 'q1', 'q2'];
const USER = randomUUID();

// Values of the wrong type, out of range, or merely odd.
const oddText = fc.oneof(
  fc.constantFrom('', ' ', 'x'.repeat(201), 'k'.repeat(513), "'; drop table public.jobs; --", 'é😀', 'null', '%s%n', '\\'),
  fc.string({ maxLength: 20, unit: 'binary' }),
);
const oddJson = fc.oneof(
  fc.constantFrom(null, '', 5, -1, 1.5, 1e300, true, [], {}, 'x'.repeat(201)),
  fc.string({ maxLength: 10 }),
  fc.double(),
);
const int = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2, 3, 60, 1000, 1001, 86400, 86401, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1),
  fc.integer({ min: -3, max: 12 }),
  fc.double(),
  fc.constant(null),
);
/** Mostly a valid value, sometimes a hostile one. */
const intOr = (valid: fc.Arbitrary<number>) => fc.oneof({ weight: 4, arbitrary: valid }, int);
const batchSize = intOr(fc.integer({ min: 1, max: 10 }));
const leaseSeconds = intOr(fc.constantFrom(1, 30, 60));
const attempt = fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, intOr(fc.integer({ min: 1, max: 3 })));
/** Mostly valid, one time in five hostile: so that every function also reaches its success path. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) => fc.oneof({ weight: 4, arbitrary: valid }, hostile);
const hostileText = fc.oneof(oddText, fc.constant(null));
const text = mostly(fc.constantFrom(...WORKERS, ...QUEUES), hostileText);
const worker = mostly(fc.constantFrom(...WORKERS), hostileText);

/** A job id: usually one the queue knows (resolved when the call runs), else anything. */
type IdChoice = { known: number } | { value: string | null };
const id: fc.Arbitrary<IdChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((known) => ({ known })) },
  fc.oneof(fc.uuid(), fc.constantFrom('not-a-uuid', '', null)).map((value) => ({ value })),
);
const ids = mostly(fc.array(id, { maxLength: 6 }), fc.constant(null));

const wellFormedJob = fc.record(
  {
    task: fc.constantFrom('t', 'u'),
    payload: fc.jsonValue({ maxDepth: 2 }),
    queue: fc.constantFrom(...QUEUES),
    priority: fc.integer({ min: -1000, max: 1000 }),
    run_at: fc.constantFrom(null, '2000-01-01T00:00:00Z', new Date(Date.now() + 3_600_000).toISOString()),
    max_attempts: fc.constantFrom(1, 2, 3),
    job_key: fc.constantFrom(null, 'k1', 'k2'),
    user_id: fc.constantFrom(null, USER),
    backoff_base_seconds: fc.constantFrom(null, 0, 0.001, 1, 31_536_000),
    backoff_max_seconds: fc.constantFrom(null, 0, 5, 3600, 31_536_000),
  },
  { requiredKeys: ['task'] },
);
const hostileJob = fc.record(
  {
    task: oddJson,
    payload: fc.jsonValue({ maxDepth: 2 }),
    queue: oddJson,
    priority: fc.oneof(int, oddJson),
    run_at: fc.oneof(
      fc.constantFrom('tomorrow', 'garbage', '294277-01-01', 7, 'infinity', '-Infinity', ' +infinity '),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
    max_attempts: fc.oneof(int, oddJson),
    job_key: oddJson,
    user_id: fc.oneof(fc.uuid(), oddJson),
    backoff_base_seconds: fc.oneof(oddJson, fc.constantFrom(-1, 31_536_001)),
    backoff_max_seconds: fc.oneof(oddJson, fc.constantFrom(-1, 31_536_001)),
    status: fc.constantFrom('completed', 'processing'),
  },
  { requiredKeys: [] },
);
const jobsText = fc.oneof(
  { weight: 6, arbitrary: fc.array(wellFormedJob, { maxLength: 4 }).map((jobs) => JSON.stringify(jobs)) },
  fc.array(fc.oneof(wellFormedJob, hostileJob), { maxLength: 4 }).map((jobs) => JSON.stringify(jobs)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.constantFrom('[', '{"task":', '', 'null', '[null]', '[{"task": "t", "task": 5}]'),
);
const jsonText = mostly(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), fc.constantFrom(null, '{', ''));
const jsonArrayText = mostly(
  fc.oneof(fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 6 }).map((v) => JSON.stringify(v))),
  jsonText,
);
const interval = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('0', '1 second', '1 day') },
  fc.constantFrom('-1 day', '1000000 years', 'forever', '', null, '00:00:01'),
);
const statuses = fc.oneof(
  fc.constant(null),
  { weight: 4, arbitrary: fc.subarray(['completed', 'failed', 'cancelled']) },
  fc.array(fc.oneof(fc.constantFrom('pending', 'processing', 'completed', 'failed'), oddText, fc.constant(null)), { maxLength: 3 }),
);

/** One call: its SQL and raw arguments, where job ids are still choices (see resolve). */
interface Call {
  name: string;
  sql: string;
  args: unknown[];
  [fc.toStringMethod](): string;
}

function isIdChoice(value: unknown): value is IdChoice {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && ('known' in value || 'value' in value);
}

function call(name: string, sql: string, args: unknown[] = []): Call {
  const show = (a: unknown): string =>
    isIdChoice(a) ? ('known' in a ? `#${a.known}` : JSON.stringify(a.value)) : Array.isArray(a) ? `[${a.map(show).join(', ')}]` : JSON.stringify(a);
  return { name, sql, args, [fc.toStringMethod]: () => `${name}(${args.map(show).join(', ')})` };
}

const operation: fc.Arbitrary<Call> = fc.oneof(
  jobsText.map((jobs) => call('enqueue_jobs', 'select * from public.enqueue_jobs(jobs => $1::jsonb)', [jobs])),
  fc
    .tuple(
      mostly(fc.constantFrom('t', 'u'), hostileText),
      jsonText,
      text,
      intOr(fc.integer({ min: -1000, max: 1000 })),
      fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, fc.constantFrom('now', 'infinity', 'x')),
      intOr(fc.integer({ min: 1, max: 3 })),
      text,
    )
    .map((args) =>
      call(
        'enqueue_job',
        'select public.enqueue_job(task => $1, payload => $2::jsonb, queue => $3, priority => $4, run_at => $5, max_attempts => $6, job_key => $7)',
        args,
      ),
    ),
  fc
    .tuple(worker, fc.oneof(fc.constant(null), fc.array(fc.oneof(text, fc.constant(null)), { maxLength: 3 })), batchSize, leaseSeconds)
    .map((args) => call('claim_jobs', 'select * from public.claim_jobs(worker_id => $1, queues => $2, batch_size => $3, lease_seconds => $4)', args)),
  fc.tuple(worker, leaseSeconds).map((args) => call('claim_next_job', 'select * from public.claim_next_job(worker_id => $1, lease_seconds => $2)', args)),
  fc
    .tuple(worker, ids, leaseSeconds)
    .map((args) => call('heartbeat_jobs', 'select * from public.heartbeat_jobs(worker_id => $1, ids => $2, lease_seconds => $3)', args)),
  fc
    .tuple(id, worker, jsonText, attempt)
    .map((args) => call('complete_job', 'select public.complete_job(id => $1, worker_id => $2, result => $3::jsonb, attempt => $4)', args)),
  fc
    .tuple(worker, ids, jsonArrayText, fc.oneof(fc.constant(null), fc.array(attempt, { maxLength: 4 })))
    .map((args) =>
      call('complete_jobs', 'select * from public.complete_jobs(worker_id => $1, ids => $2, results => $3::jsonb, attempts => $4)', args),
    ),
  fc
    .tuple(id, worker, mostly(fc.constantFrom('E', 'TIMEOUT'), hostileText), hostileText, mostly(fc.boolean(), fc.constantFrom(null, 'maybe')), attempt)
    .map((args) =>
      call(
        'fail_job',
        'select public.fail_job(id => $1, worker_id => $2, error_code => $3, error_message => $4, retryable => $5, attempt => $6)',
        args,
      ),
    ),
  fc
    .tuple(worker, ids, hostileText)
    .map((args) => call('release_jobs', 'select * from public.release_jobs(worker_id => $1, ids => $2, reason => $3)', args)),
  fc
    .tuple(id, worker, mostly(fc.constantFrom(null, 'download', 'upload'), oddText), jsonText)
    .map((args) =>
      call('update_job_progress', 'select public.update_job_progress(id => $1, worker_id => $2, stage => $3, progress => $4::jsonb)', args),
    ),
  id.map((i) => call('cancel_job', 'select public.cancel_job(id => $1)', [i])),
  id.map((i) => call('retry_job', 'select public.retry_job(id => $1)', [i])),
  fc.oneof(text, fc.constant(null)).map((q) => call('retry_failed_jobs', 'select public.retry_failed_jobs(queue => $1)', [q])),
  fc
    .tuple(interval, statuses)
    .map((args) => call('purge_jobs', 'select public.purge_jobs(older_than => $1::interval, statuses => $2)', args)),
  fc
    .tuple(int, fc.oneof(int, fc.double()), fc.oneof(int, fc.double()))
    .map((args) => call('job_backoff_delay', 'select public.job_backoff_delay($1, $2, $3)', args)),
  fc.constant(call('reclaim_expired_jobs', 'select public.reclaim_expired_jobs()')),
  fc.constant(call('get_queue_stats', 'select * from public.get_queue_stats()')),
  // Time passes: some leases run out, scheduled jobs come due.
  fc.constant(
    call('(leases expire)', "update public.jobs set lease_expires_at = now() - interval '1 second' where status = 'processing' and random() < 0.5"),
  ),
  fc.constant(call('(run_at reached)', "update public.jobs set run_at = now() where status = 'pending' and run_at > now()")),
);

async function knownIds(): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('select id from public.jobs order by created_at, id');
  return rows.map((r) => r.id);
}

test('hostile arguments either succeed or raise a SQLSTATE, and leave no row in a wrong state', async (t) => {
  const outcomes = new Map<string, { ok: number; errors: Set<string> }>();
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (calls) => {
      for (const c of calls) {
        const known = await knownIds();
        const resolve = (a: unknown): unknown => {
          if (Array.isArray(a)) return a.map(resolve);
          if (!isIdChoice(a)) return a;
          if ('value' in a) return a.value;
          return known.length ? known[a.known % known.length] : randomUUID();
        };
        const outcome = outcomes.get(c.name) ?? { ok: 0, errors: new Set<string>() };
        outcomes.set(c.name, outcome);
        try {
          await pool.query(c.sql, c.args.map(resolve));
          outcome.ok++;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          assert.ok(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code), `${c.name}: an error without SQLSTATE: ${String(error)}`);
          assert.ok(!code.startsWith('XX'), `${c.name}: internal error ${code}: ${String(error)}`);
          outcome.errors.add(code);
        }
        const invalid = await findInvalidRows(pool);
        assert.deepEqual(invalid, [], `after ${c.name}`);
        assert.deepEqual(await finishedCountsDrift(pool), [], `finished counts after ${c.name}`);
      }
      // Calls that take no arguments must never fail, whatever the rows hold.
      await pool.query('select * from public.get_queue_stats()');
      await pool.query('select public.reclaim_expired_jobs()');
    }),
    { numRuns: 75 },
  );
  const { rows } = await pool.query('select status, count(*)::int as n from public.jobs group by 1 order by 1');
  t.diagnostic(`jobs at the end: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
  for (const [name, { ok, errors }] of [...outcomes].sort()) {
    t.diagnostic(`${name}: ${ok} succeeded, errors ${[...errors].sort().join(' ') || 'none'}`);
  }
  // The fuzz reached the success path of every function, not only its argument checks.
  for (const [name, { ok }] of outcomes) assert.ok(ok > 0, `${name} never succeeded`);
});
