/**
 * The workflow scenario's own checks, from the ledger against what SQL stored: a step whose
 * result was stored never ran again in a later attempt; a dependent never started before every
 * job it depends on completed; every lifecycle event (a retry scheduled, a dead letter, a lease
 * expired, a cancel) had its hook run at least once and every hook job completed; jobs failed
 * only as planned (a planned dead letter, or a failed or cancelled dependency).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { HOOK_TASK } from '../../src/workflow/hooks.js';
import type { LedgerFigures } from '../ledger.js';
import { PLANNED_DEAD_LETTER } from '../workflow-plan.js';
import type { ScenarioContext } from './types.js';

const PLANNED_FAILURES = [PLANNED_DEAD_LETTER, 'DEPENDENCY_FAILED', 'DEPENDENCY_CANCELLED'];

export async function checkWorkflow(_figures: LedgerFigures, ctx: ScenarioContext): Promise<string[]> {
  const ids = ctx.producer.ids;
  const problems = [
    ...(await hookJobsSettled(ctx)),
    ...(await stepsNotRunAgain(await ctx.admin(), ctx.notes)),
    ...(await dependentsStartedAfterDependencies(await ctx.admin(), ctx.notes)),
    ...(await hooksRun(await ctx.admin(), ids, ctx.notes)),
    ...(await plannedEnds(await ctx.admin(), ids, ctx.notes)),
  ];
  return problems;
}

/** Hook jobs are not the producer's: waits for them to finish too (30 s at most). */
async function hookJobsSettled(ctx: ScenarioContext): Promise<string[]> {
  const count = async () =>
    (await (await ctx.admin()).query<{ open: number; done: number; other: number }>(
      `select count(*) filter (where status in ('pending', 'processing'))::int as open,
              count(*) filter (where status = 'completed')::int as done,
              count(*) filter (where status not in ('pending', 'processing', 'completed'))::int as other
       from public.jobs where task = $1`,
      [HOOK_TASK],
    )).rows[0]!;
  let c = await count();
  for (const deadline = Date.now() + 30_000; c.open > 0 && Date.now() < deadline; c = await count()) await sleep(250);
  ctx.notes.push(`${c.done} hook jobs completed`);
  return [
    ...(c.open > 0 ? [`${c.open} hook jobs still pending or processing 30 s after every job was final`] : []),
    ...(c.other > 0 ? [`${c.other} hook jobs failed or cancelled`] : []),
  ];
}

/**
 * A ledger 'step' row is the step's work; job_steps holds the result stored, with its attempt.
 * Only a later attempt counts: an attempt fenced out while still running (its lease expired under
 * load) may record a step after the attempt that replaced it stored the result.
 */
async function stepsNotRunAgain(client: pg.Client, notes: string[]): Promise<string[]> {
  const { rows } = await client.query<{ again: number; stored: number; resumed: number; before_stored: number }>(`
    select
      (select count(*)::int from chaos_ledger l join public.job_steps s on s.job_id = l.job_id and s.name = l.step
       where l.outcome = 'step' and l.attempt > s.attempt) as again,
      (select count(*)::int from public.job_steps) as stored,
      (select count(*)::int from public.job_steps s where exists (
         select 1 from chaos_ledger l where l.job_id = s.job_id and l.outcome = 'start' and l.attempt > s.attempt)) as resumed,
      (select count(*)::int from (select 1 from chaos_ledger where outcome = 'step' group by job_id, step having count(*) > 1) x) as before_stored`);
  const r = rows[0]!;
  notes.push(
    `${r.stored} steps stored; ${r.resumed} of them already stored when a later attempt of their job ran; ` +
      `${r.before_stored} steps ran again because the attempt that ran them died before storing the result`,
  );
  return r.again > 0 ? [`${r.again} runs of a step after its result was stored (in a later attempt)`] : [];
}

/** A dependent's every start (ledger 'start') comes after its last dependency's completed_at. */
async function dependentsStartedAfterDependencies(client: pg.Client, notes: string[]): Promise<string[]> {
  const { rows } = await client.query<{ early: number; dependents: number; started: number; min_gap_ms: number | null }>(`
    with starts as (select job_id, min(executed_at) as first from chaos_ledger where outcome = 'start' group by job_id),
    deps as (
      select d.job_id, bool_and(dep.status = 'completed') as all_completed, max(dep.completed_at) as last_completed
      from public.job_dependencies d join public.jobs dep on dep.id = d.depends_on group by d.job_id
    )
    select count(*) filter (where s.first is not null and (not d.all_completed or s.first <= d.last_completed))::int as early,
           count(*)::int as dependents,
           count(s.first)::int as started,
           min(extract(epoch from s.first - d.last_completed) * 1000)::float8 as min_gap_ms
    from deps d left join starts s on s.job_id = d.job_id`);
  const r = rows[0]!;
  notes.push(
    `${r.dependents} jobs with dependencies, ${r.started} of them started, the earliest ${r.min_gap_ms?.toFixed(1) ?? '–'} ms after its last dependency completed`,
  );
  return r.early > 0 ? [`${r.early} dependents started before all their dependencies completed`] : [];
}

/**
 * The lifecycle events in job_events, as docs/workflows.md defines them (written out here, not
 * read from the SQL under test): a lease expired (processing to pending or failed with
 * LEASE_EXPIRED), a dead letter (to failed, from any status; a lease lost for good is both), a
 * retry scheduled (processing back to pending, neither a release at shutdown nor a lost lease),
 * a cancel. Each is matched with a ledger 'hook' row of the same job, event and attempt.
 */
async function hooksRun(client: pg.Client, ids: string[], notes: string[]): Promise<string[]> {
  const { rows } = await client.query<{ event: string; events: number; lost: number; runs: number }>(
    `with changes as (
       select e.job_id, e.attempt, ev.event
       from public.job_events e
       cross join lateral (values
         (case when e.from_status = 'processing' and e.to_status in ('pending', 'failed') and e.error_code = 'LEASE_EXPIRED' then 'lease_expired' end),
         (case when e.to_status = 'failed' then 'dead_lettered' end),
         (case when e.from_status = 'processing' and e.to_status = 'pending'
                    and e.error_code is distinct from 'RELEASED' and e.error_code is distinct from 'LEASE_EXPIRED' then 'retry_scheduled' end),
         (case when e.to_status = 'cancelled' then 'cancelled' end)) ev(event)
       where e.job_id = any ($1::uuid[]) and e.from_status is distinct from e.to_status and ev.event is not null
     )
     select c.event, count(*)::int as events,
            count(*) filter (where not exists (
              select 1 from chaos_ledger h
              where h.outcome = 'hook' and h.job_id = c.job_id and h.step = c.event and h.attempt = c.attempt))::int as lost,
            (select count(*)::int from chaos_ledger h where h.outcome = 'hook' and h.step = c.event) as runs
     from changes c group by c.event order by c.event`,
    [ids],
  );
  notes.push(`lifecycle events (hook runs): ${rows.map((r) => `${r.event} ${r.events} (${r.runs})`).join(', ') || 'none'}`);
  const problems = rows.filter((r) => r.lost > 0).map((r) => `${r.lost} of ${r.events} ${r.event} events without their hook run`);
  for (const needed of ['retry_scheduled', 'dead_lettered', 'lease_expired', 'cancelled']) {
    if (!rows.some((r) => r.event === needed)) notes.push(`no ${needed} event happened: its hook went unchecked`);
  }
  return problems;
}

/** Failures are the planned ones only. */
async function plannedEnds(client: pg.Client, ids: string[], notes: string[]): Promise<string[]> {
  const { rows } = await client.query<{ status: string; error_code: string | null; n: number }>(
    `select status, case when status = 'completed' then null else error_code end as error_code, count(*)::int as n
     from public.jobs where id = any ($1::uuid[]) group by 1, 2 order by 3 desc`,
    [ids],
  );
  notes.push(`ends: ${rows.map((r) => `${r.status}${r.error_code ? ` ${r.error_code}` : ''} ${r.n}`).join(', ')}`);
  return rows
    .filter((r) => r.status === 'failed' && !PLANNED_FAILURES.includes(r.error_code ?? ''))
    .map((r) => `${r.n} jobs failed unplanned: ${r.error_code}`);
}
