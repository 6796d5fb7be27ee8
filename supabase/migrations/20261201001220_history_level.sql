-- supajobs: how much history the database keeps, one setting for every writer.
--
--   full (the default)  a row in job_events for every change of status or stage, as before.
--   lean                no row for the three routine changes of a job that goes well: its enqueue,
--                       its claim (pending → processing) and its completion (processing →
--                       completed). Everything else is still recorded, with who did it: retries,
--                       failures and dead letters with their error, releases, reclaimed leases,
--                       cancels, stage changes, operator actions, dependency settlements.
--
-- lean saves three history rows per job (about 12 % of PostgreSQL's time per job in
-- bench:row-cost) at the price of a timeline that begins at the first exception; the job's own
-- timestamps (created_at, started_at, completed_at) still say when it ran. The setting is a
-- table only the owner writes, read by the history triggers (as owner): no session setting or
-- role can make a statement skip its history, and only set_job_history() (service_role) changes
-- it for everyone.

create table supajobs.history_settings (
  only_row boolean primary key default true check (only_row),
  level text not null default 'full' check (level in ('full', 'lean')),
  updated_at timestamptz not null default now()
);
revoke all on table supajobs.history_settings from public;
insert into supajobs.history_settings default values;

create function public.job_history_level()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select s.level from supajobs.history_settings s
$$;

-- Sets the level for every writer from the next statement on; returns it.
create function public.set_job_history(level text)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform public.job_check_argument(level in ('full', 'lean'), 'level must be full or lean');
  update supajobs.history_settings s
  set level = set_job_history.level, updated_at = now()
  where s.level is distinct from set_job_history.level;
  return level;
end
$$;

-- As in 20261123000200_jobs_triggers.sql, with the enqueue row left out at level lean.
create or replace function public.job_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- Once per statement: a function call per row would cost more than the row itself.
  actor text := public.job_actor();
begin
  if (select s.level from supajobs.history_settings s) = 'full' then
    insert into public.job_events (job_id, user_id, queue, task, event, from_status, to_status, stage, attempt, actor)
    select n.id, n.user_id, n.queue, n.task, 'enqueued', null, n.status, n.stage, n.attempts, actor
    from new_jobs n;
  end if;

  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at))
  from new_jobs n
  where n.status = 'pending';
  return null;
end
$$;

-- As in 20261123000200_jobs_triggers.sql, with the claim and completion rows left out at level
-- lean (a change of stage with them is kept).
create or replace function public.job_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
-- See 20261201001200_transition_table_joins.sql.
set enable_nestloop = off
as $$
declare
  actor text := public.job_actor();
  lean boolean := (select s.level = 'lean' from supajobs.history_settings s);
begin
  -- Every change of status or stage is recorded here, for every writer: nothing a caller can
  -- set (a setting, a role) makes this trigger stand aside.
  insert into public.job_events
    (job_id, user_id, queue, task, event, from_status, to_status, stage, attempt, worker_id, actor, error_code, message)
  select n.id, n.user_id, n.queue, n.task,
         case when n.status is distinct from o.status then n.status else 'stage' end,
         o.status, n.status, n.stage, n.attempts,
         coalesce(n.locked_by, o.locked_by),
         actor,
         -- A failure, a lost lease or a release from processing: keep why.
         case when o.status = 'processing' and n.status in ('pending', 'failed') then n.error_code end,
         case when o.status = 'processing' and n.status in ('pending', 'failed') then n.last_error end
  from new_jobs n
  join old_jobs o on o.id = n.id
  where (n.status is distinct from o.status or n.stage is distinct from o.stage)
    and not (lean and n.stage is not distinct from o.stage
             and ((o.status = 'pending' and n.status = 'processing') or (o.status = 'processing' and n.status = 'completed')));

  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at))
  from new_jobs n
  join old_jobs o on o.id = n.id
  where n.status = 'pending' and o.status <> 'pending';
  return null;
end
$$;

select public.job_grant_to_service_role_only(array['public.job_history_level()', 'public.set_job_history(text)']);
