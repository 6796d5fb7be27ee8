/**
 * What the SQL contract tests share: typed calls of the queue functions, role switching as
 * PostgREST does it, SQLSTATE assertions and the row-state invariants every test may check.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { inTransaction } from '../../../src/drivers/postgres/function-call.js';

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

export interface JobRow {
  id: string;
  task: string;
  queue: string;
  payload: unknown;
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  priority: number;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  backoff_base_seconds: number | null;
  backoff_max_seconds: number | null;
  locked_by: string | null;
  lease_expires_at: Date | null;
  job_key: string | null;
  stage: string | null;
  version: number;
  progress: unknown;
  result: unknown;
  error_code: string | null;
  last_error: string | null;
  user_id: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
  updated_at: Date;
}

export interface EventRow {
  job_id: string;
  user_id: string | null;
  event: string;
  from_status: string | null;
  to_status: string;
  stage: string | null;
  version: number;
  attempt: number;
  worker_id: string | null;
  actor: string;
  error_code: string | null;
  message: string | null;
}

/** One element of enqueue_jobs' array (the keys of enqueue_job). */
export interface JobInput {
  task: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  run_at?: string | null;
  max_attempts?: number;
  job_key?: string | null;
  user_id?: string | null;
  backoff_base_seconds?: number | null;
  backoff_max_seconds?: number | null;
}

/** A queue name no other test uses, so that tests sharing a database do not see each other. */
export function uniqueQueue(prefix = 'q'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export function uniqueWorker(prefix = 'worker'): string {
  return `${prefix}-${randomUUID()}`;
}

export async function enqueue(db: Queryable, jobs: JobInput[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('select id from public.enqueue_jobs(jobs => $1::jsonb)', [
    JSON.stringify(jobs),
  ]);
  return rows.map((r) => r.id);
}

export async function enqueueOne(db: Queryable, job: JobInput): Promise<string> {
  const [id] = await enqueue(db, [job]);
  assert.ok(id);
  return id;
}

export interface ClaimOptions {
  queues?: string[] | null;
  batchSize?: number;
  leaseSeconds?: number;
}

export async function claim(db: Queryable, workerId: string, options: ClaimOptions = {}): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>(
    'select * from public.claim_jobs(worker_id => $1, queues => $2, batch_size => $3, lease_seconds => $4)',
    [workerId, options.queues ?? null, options.batchSize ?? 1, options.leaseSeconds ?? 60],
  );
  return rows;
}

/** Claims exactly one job of the queue and returns it. */
export async function claimOne(db: Queryable, workerId: string, queue: string, leaseSeconds = 60): Promise<JobRow> {
  const [row] = await claim(db, workerId, { queues: [queue], leaseSeconds });
  assert.ok(row, `no job to claim in ${queue}`);
  return row;
}

export async function getJob(db: Queryable, id: string): Promise<JobRow> {
  const { rows } = await db.query<JobRow>('select * from public.jobs where id = $1', [id]);
  assert.ok(rows[0], `job ${id} not found`);
  return rows[0];
}

export async function getJobs(db: Queryable, ids: string[]): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>(
    'select j.* from unnest($1::uuid[]) with ordinality as i(id, ord) join public.jobs j on j.id = i.id order by i.ord',
    [ids],
  );
  return rows;
}

export async function getEvents(db: Queryable, jobId: string): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `select job_id, user_id, event, from_status, to_status, stage, attempt, worker_id, actor, error_code, message
       from public.job_events where job_id = $1 order by id`,
    [jobId],
  );
  return rows;
}

/** Time passes for these jobs' leases: they are expired from now on. */
export async function expireLeases(db: Queryable, ids: string[]): Promise<void> {
  await db.query(
    "update public.jobs set lease_expires_at = now() - interval '1 second' where id = any ($1) and status = 'processing'",
    [ids],
  );
}

/** Time passes for these scheduled jobs: their run_at is reached. */
export async function makeReady(db: Queryable, ids: string[]): Promise<void> {
  await db.query(
    "update public.jobs set run_at = now() - interval '1 millisecond' where id = any ($1) and status = 'pending'",
    [ids],
  );
}

/** The SQLSTATE of the error a database call raised; fails when it resolved. */
async function sqlStateOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    assert.equal(typeof code, 'string', `an error without SQLSTATE: ${String(error)}`);
    return code as string;
  }
  assert.fail('the call succeeded, an error was expected');
}

export async function assertSqlState(call: Promise<unknown>, expected: string, what?: string): Promise<void> {
  assert.equal(await sqlStateOf(call), expected, what);
}

/** The driver's own: fn's queries commit together, or roll back when it rejects. */
export { inTransaction };

export type ApiRole = 'anon' | 'authenticated' | 'service_role';

/**
 * Runs fn in one transaction as PostgREST runs a request: `set local role` and the JWT claims in
 * request.jwt.claims (what auth.uid() reads). Commits when fn resolves.
 */
export function asRole<T>(
  pool: pg.Pool,
  role: ApiRole,
  fn: (client: pg.PoolClient) => Promise<T>,
  userId?: string,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query(`set local role ${role}`);
    const claims = userId === undefined ? { role } : { sub: userId, role };
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    return fn(client);
  });
}

/**
 * Rows in a state the queue must never produce. Every function keeps these true whatever its
 * arguments; the fuzz and the concurrency tests check them after they ran.
 */
export async function findInvalidRows(db: Queryable): Promise<{ id: string; status: string; problem: string }[]> {
  const { rows } = await db.query<{ id: string; status: string; problem: string }>(`
    with last_event as (
      select distinct on (e.job_id) e.job_id, e.to_status
      from public.job_events e
      order by e.job_id, e.id desc
    ),
    enqueued as (
      select e.job_id, count(*) as n from public.job_events e where e.event = 'enqueued' group by e.job_id
    )
    select j.id, j.status, p.problem
    from public.jobs j
    left join last_event l on l.job_id = j.id
    left join enqueued q on q.job_id = j.id
    cross join lateral (select case
      when j.status = 'processing' and (j.locked_by is null or j.lease_expires_at is null or j.started_at is null)
        then 'processing without locked_by, lease or started_at'
      when j.status = 'processing' and j.attempts < 1 then 'processing with no attempt counted'
      when j.status <> 'processing' and j.lease_expires_at is not null then 'a lease outside processing'
      when j.status in ('pending', 'cancelled') and j.locked_by is not null then 'locked_by outside processing'
      when j.attempts > j.max_attempts then 'more attempts than max_attempts'
      when j.status = 'pending' and j.attempts >= j.max_attempts then 'pending with no attempt left'
      when (j.status = 'completed') <> (j.completed_at is not null) then 'completed_at out of step with status'
      when (j.status = 'failed') <> (j.failed_at is not null) then 'failed_at out of step with status'
      when coalesce(q.n, 0) <> 1 then 'not exactly one enqueued event'
      when l.to_status is distinct from j.status then 'last event does not match the status'
    end as problem) p
    where p.problem is not null
    order by j.id`);
  return rows;
}

export async function assertNoInvalidRows(db: Queryable): Promise<void> {
  assert.deepEqual(await findInvalidRows(db), []);
}

/**
 * Queues whose kept counts (queue_finished_counts, read by get_queue_stats) differ from a count of
 * the jobs themselves: none, whatever ran before.
 */
export async function finishedCountsDrift(db: Queryable): Promise<{ queue: string; kept: string; counted: string }[]> {
  const { rows } = await db.query<{ queue: string; kept: string; counted: string }>(`
    with kept as (
      select c.queue, sum(c.completed) as completed, sum(c.failed) as failed, sum(c.cancelled) as cancelled
      from public.queue_finished_counts c group by c.queue
    ),
    counted as (
      select j.queue, count(*) filter (where j.status = 'completed') as completed,
             count(*) filter (where j.status = 'failed') as failed, count(*) filter (where j.status = 'cancelled') as cancelled
      from public.jobs j group by j.queue
    )
    select coalesce(k.queue, n.queue) as queue,
           concat_ws('/', k.completed, k.failed, k.cancelled) as kept,
           concat_ws('/', n.completed, n.failed, n.cancelled) as counted
    from kept k full join counted n on n.queue = k.queue
    where (coalesce(k.completed, 0), coalesce(k.failed, 0), coalesce(k.cancelled, 0))
          is distinct from (coalesce(n.completed, 0), coalesce(n.failed, 0), coalesce(n.cancelled, 0))
    order by 1`);
  return rows;
}
