/**
 * The ledger: one row per execution of a chaos task (chaos/tasks/ writes them; the workflow task
 * also one per start, step and hook run), and the queries that turn the ledger, the jobs table
 * and job_events into a scenario's figures.
 */
import type pg from 'pg';
import { HOOK_TASK } from '../src/workflow/hooks.js';

export const LEDGER_TASK = 'ledger';

export const LEDGER_DDL = `
  create table chaos_ledger (
    id          bigint generated always as identity primary key,
    job_id      uuid not null,
    attempt     integer not null,
    worker_id   text not null,
    -- An execution's end: 'ok' the handler is about to return, 'fail' it is about to throw a
    -- planned error. Workflow scenario only: 'start' an execution began, 'step' a step's work
    -- ran to its end, 'hook' a lifecycle hook ran (attempt: the attempt of the event).
    outcome     text not null,
    -- The step ('step', and 'fail' inside a step) or the lifecycle event ('hook').
    step        text,
    executed_at timestamptz not null default clock_timestamp()
  );
  create index chaos_ledger_job_idx on chaos_ledger (job_id);
`;

export type LedgerOutcome = 'ok' | 'fail' | 'start' | 'step' | 'hook';

/** What the chaos task reads from its payload. */
export interface LedgerPayload {
  seq: number;
  /** Handler time, a random value in [minMs, maxMs]. */
  minMs: number;
  maxMs: number;
  /** Share of executions that fail with a transient error (retry-storm). */
  failRate: number;
  /** Share of executions that take slowMs instead (sigterm: some jobs outlive the drain). */
  slowRate?: number;
  slowMs?: number;
}

export interface LedgerFigures {
  jobs: number;
  completed: number;
  failed: number;
  /** Ledger rows of an execution's end: every execution that got as far as recording itself. */
  executions: number;
  /** Successful executions beyond the first per job: work done again. */
  reExecutions: number;
  /** Still processing at the end. */
  stuck: number;
  /** More than one 'completed' event in job_events. */
  completedTwice: number;
  /** Enqueued ids missing from jobs, or not final at the end. */
  lost: number;
  /** Completed jobs whose completing worker and attempt have no successful execution in the ledger. */
  completedWithoutExecution: number;
  /** Jobs (hooks aside) that the producer did not enqueue (a retried enqueue that doubled). */
  unexpectedJobs: number;
  /** Jobs given back at shutdown (release_jobs). */
  released: number;
  /** Expired leases reclaimed (LEASE_EXPIRED events). */
  reclaimed: number;
}

/** Figures for the enqueued ids (a temporary table holds them so 20,000 ids cost one round trip). */
export async function ledgerFigures(client: pg.Client, ids: string[]): Promise<LedgerFigures> {
  await client.query('create temporary table if not exists chaos_enqueued (id uuid primary key) on commit preserve rows');
  await client.query('truncate chaos_enqueued');
  await client.query('insert into chaos_enqueued select unnest($1::uuid[]) on conflict do nothing', [ids]);
  const { rows } = await client.query<Record<string, string>>(`
    with j as (
      select e.id, jobs.status, jobs.attempts, jobs.locked_by
      from chaos_enqueued e left join public.jobs on jobs.id = e.id
    ),
    runs as (
      select job_id, count(*) as executions, count(*) filter (where outcome = 'ok') as ok
      from chaos_ledger where outcome in ('ok', 'fail') group by job_id
    ),
    completions as (
      select job_id, count(*) as n from public.job_events where event = 'completed' group by job_id
    )
    select
      (select count(*) from chaos_enqueued) as jobs,
      (select count(*) from j where status = 'completed') as completed,
      (select count(*) from j where status = 'failed') as failed,
      (select coalesce(sum(executions), 0) from runs) as executions,
      (select coalesce(sum(greatest(ok - 1, 0)), 0) from runs) as re_executions,
      (select count(*) from j where status = 'processing') as stuck,
      (select count(*) from completions where n > 1) as completed_twice,
      (select count(*) from j where status is null or status not in ('completed', 'failed', 'cancelled')) as lost,
      (select count(*) from j where status = 'completed' and not exists (
        select 1 from chaos_ledger l
        where l.job_id = j.id and l.attempt = j.attempts and l.worker_id = j.locked_by and l.outcome = 'ok')) as completed_without_execution,
      (select count(*) from public.jobs where task <> '${HOOK_TASK}' and id not in (select id from chaos_enqueued)) as unexpected_jobs,
      (select count(*) from public.job_events where error_code = 'RELEASED' and to_status = 'pending') as released,
      (select count(*) from public.job_events where error_code = 'LEASE_EXPIRED' and from_status = 'processing') as reclaimed
  `);
  const r = rows[0] ?? {};
  const n = (key: string) => Number(r[key] ?? 0);
  return {
    jobs: n('jobs'),
    completed: n('completed'),
    failed: n('failed'),
    executions: n('executions'),
    reExecutions: n('re_executions'),
    stuck: n('stuck'),
    completedTwice: n('completed_twice'),
    lost: n('lost'),
    completedWithoutExecution: n('completed_without_execution'),
    unexpectedJobs: n('unexpected_jobs'),
    released: n('released'),
    reclaimed: n('reclaimed'),
  };
}

/** How many of the ids are not final yet. */
export async function unfinishedCount(client: pg.Client, ids: string[]): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    "select $2::int - count(*) as n from public.jobs where id = any ($1::uuid[]) and status in ('completed', 'failed', 'cancelled')",
    [ids, ids.length],
  );
  return Number(rows[0]?.n ?? ids.length);
}

/**
 * When (ms since the epoch) the last of the ids was settled after a fault at `since`: the status
 * change that ended its hold, i.e. finished by its holder or given back to the queue (reclaimed,
 * released, failed). Waiting in the queue after that is queueing, not recovery. The ids were
 * read as processing just before `since`: a change up to 2 s earlier counts (as settled at once).
 * Undefined if one never was.
 */
export async function lastSettledAt(client: pg.Client, ids: string[], since: number): Promise<number | undefined> {
  if (ids.length === 0) return undefined;
  const { rows } = await client.query<{ open: string; last: Date | null }>(
    `with settled as (
       select j.id, (select min(e.created_at) from public.job_events e
                     where e.job_id = j.id and e.event in ('completed', 'failed', 'cancelled', 'pending')
                       and e.created_at >= to_timestamp(($2::double precision - 2000) / 1000.0)) as at
       from public.jobs j where j.id = any ($1::uuid[])
     )
     select count(*) filter (where at is null) as open, max(at) as last from settled`,
    [ids, since],
  );
  const row = rows[0];
  if (!row || Number(row.open) > 0 || !row.last) return undefined;
  return row.last.getTime();
}
