-- supajobs: workflows. Declared stages (a per-task graph, checked by a compare-and-set on
-- jobs.version) and checkpoints (a job's completed steps, fenced by attempt).
--
-- A job of a task without a graph and without steps pays nothing here: claim_jobs and
-- complete_jobs do not touch these tables, and the stage trigger fires only on an UPDATE that
-- names the stage column.

-- Every stage change adds one; ctx.transition and any other writer compare it.
alter table public.jobs add column version integer not null default 0;

-- A task's stages: where its jobs start, which moves are allowed, and where a job ends on its own.
-- transitions: {"FROM": ["TO", ...], ...}. A job whose stage is null is in initial_stage.
create table public.job_stage_graphs (
  task          text primary key check (length(task) between 1 and 200),
  initial_stage text not null check (length(initial_stage) between 1 and 200),
  transitions   jsonb not null check (jsonb_typeof(transitions) = 'object'),
  -- Terminal stages: completion (the worker moves a finished job there), a dead letter, and a
  -- dead letter whose last error was a timeout (TIMEOUT, LEASE_EXPIRED).
  success_stage text check (length(success_stage) between 1 and 200),
  failure_stage text check (length(failure_stage) between 1 and 200),
  timeout_stage text check (length(timeout_stage) between 1 and 200),
  updated_at    timestamptz not null default now()
);

comment on table public.job_stage_graphs is 'supajobs: declared stages per task, registered by workers at start (register_job_stages).';

-- A job's completed steps: the result is returned to every later attempt instead of running the
-- step again.
create table public.job_steps (
  job_id       uuid not null references public.jobs (id) on delete cascade,
  name         text not null check (length(name) between 1 and 200),
  attempt      integer not null,
  result       jsonb,
  duration_ms  integer,
  worker_id    text,
  completed_at timestamptz not null default now(),
  primary key (job_id, name)
);

comment on table public.job_steps is 'supajobs: completed checkpoints (ctx.step) of each job.';

-- Register (or replace) a task's stage graph. success_stage must be a stage of transitions (the
-- worker moves a completed job there by a declared move); failure and timeout stages are reached
-- only by a dead letter, from any stage.
create function public.register_job_stages(
  task text,
  initial_stage text,
  transitions jsonb,
  success_stage text default null,
  failure_stage text default null,
  timeout_stage text default null
)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  stages text[];
begin
  perform public.job_check_argument(length(task) between 1 and 200, 'task must be 1 to 200 characters');
  perform public.job_check_argument(jsonb_typeof(transitions) = 'object',
    'transitions must be a JSON object of stage -> array of stages');
  perform public.job_check_argument(
    not exists (select 1 from jsonb_each(transitions) t
                where jsonb_typeof(t.value) <> 'array'
                   or exists (select 1 from jsonb_array_elements(t.value) e where jsonb_typeof(e) <> 'string')),
    'transitions must map each stage to an array of stage names');
  select array_agg(distinct s) into stages from (
    select jsonb_object_keys(transitions) as s
    union all
    select jsonb_array_elements_text(t.value) from jsonb_each(transitions) t
    union all
    select initial_stage
  ) x;
  perform public.job_check_argument(
    length(initial_stage) between 1 and 200 and (select bool_and(length(s) between 1 and 200) from unnest(stages) s),
    'stage names must be 1 to 200 characters');
  perform public.job_check_argument(success_stage is null or success_stage = any (stages), 'success_stage must be a stage of transitions');
  perform public.job_check_argument(failure_stage is null or length(failure_stage) between 1 and 200, 'failure_stage must be 1 to 200 characters');
  perform public.job_check_argument(timeout_stage is null or length(timeout_stage) between 1 and 200, 'timeout_stage must be 1 to 200 characters');
  insert into public.job_stage_graphs as g (task, initial_stage, transitions, success_stage, failure_stage, timeout_stage)
  values (task, initial_stage, transitions, success_stage, failure_stage, timeout_stage)
  on conflict on constraint job_stage_graphs_pkey do update
    set initial_stage = excluded.initial_stage, transitions = excluded.transitions,
        success_stage = excluded.success_stage, failure_stage = excluded.failure_stage,
        timeout_stage = excluded.timeout_stage, updated_at = now();
end
$$;

-- Every stage change, by any writer: checked against the task's graph (when it has one) and
-- counted in version. Errors: SJ001 a move the graph does not allow.
create function public.job_before_stage_change()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  g public.job_stage_graphs;
  from_stage text;
begin
  new.version := old.version + 1;
  select * into g from public.job_stage_graphs s where s.task = new.task;
  if not found then
    return new;
  end if;
  from_stage := coalesce(old.stage, g.initial_stage);
  if new.stage is null or new.stage = from_stage then
    return new;
  end if;
  -- A dead letter's own move (see job_before_dead_letter).
  if new.status = 'failed' and old.status <> 'failed' and new.stage in (g.failure_stage, g.timeout_stage) then
    return new;
  end if;
  if not coalesce(g.transitions -> from_stage ? new.stage, false) then
    raise exception 'stage % -> % is not a declared transition of task %', from_stage, new.stage, new.task
      using errcode = 'SJ001';
  end if;
  return new;
end
$$;

create trigger jobs_before_stage_change
  before update of stage on public.jobs
  for each row
  when (old.stage is distinct from new.stage)
  execute function public.job_before_stage_change();

-- A dead letter (by fail_job, reclaim_expired_jobs or any writer) moves a job of a task with a
-- graph to its declared terminal stage: timeout_stage after TIMEOUT or LEASE_EXPIRED, else
-- failure_stage. The WHEN clause keeps every other status change (claims, completions) free.
create function public.job_before_dead_letter()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  g public.job_stage_graphs;
  terminal text;
begin
  select * into g from public.job_stage_graphs s where s.task = new.task;
  if not found then
    return new;
  end if;
  terminal := case when new.error_code in ('TIMEOUT', 'LEASE_EXPIRED') then coalesce(g.timeout_stage, g.failure_stage)
                   else g.failure_stage end;
  if terminal is not null and new.stage is distinct from terminal then
    new.stage := terminal;
    new.version := old.version + 1;
  end if;
  return new;
end
$$;

create trigger jobs_before_dead_letter
  before update of status on public.jobs
  for each row
  when (new.status = 'failed' and old.status <> 'failed')
  execute function public.job_before_dead_letter();

-- Move a job to another stage: a compare-and-set on version (when expected_version is given) and,
-- when worker_id is given, only while that worker holds the job. data replaces the job's
-- progress (null keeps it). Returns {"stage", "version"}. Errors: SJ001 a move the graph does not
-- allow, SJ002 a stale version, SJ003 a task without a graph, SJ004 the job is not held (or missing).
create function public.transition_job(
  id uuid,
  to_stage text,
  expected_version integer default null,
  worker_id text default null,
  data jsonb default null
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  j public.jobs;
begin
  perform public.job_check_argument(length(to_stage) between 1 and 200, 'to_stage must be 1 to 200 characters');
  select * into j from public.jobs x where x.id = transition_job.id for update;
  if not found or (transition_job.worker_id is not null
                   and (j.status <> 'processing' or j.locked_by is distinct from transition_job.worker_id)) then
    raise exception 'job % is not held by worker %', transition_job.id, coalesce(transition_job.worker_id, '(any)')
      using errcode = 'SJ004';
  end if;
  if not exists (select 1 from public.job_stage_graphs g where g.task = j.task) then
    raise exception 'task % declares no stages', j.task using errcode = 'SJ003';
  end if;
  if transition_job.expected_version is not null and j.version <> transition_job.expected_version then
    raise exception 'job % is at version %, not %', j.id, j.version, transition_job.expected_version
      using errcode = 'SJ002';
  end if;
  update public.jobs x
  set stage = transition_job.to_stage,
      progress = coalesce(transition_job.data, x.progress),
      updated_at = now()
  where x.id = j.id
  returning x.* into j;
  return jsonb_build_object('stage', j.stage, 'version', j.version);
end
$$;

-- The stored results of a job's completed steps, as {"name": result, ...}.
create function public.get_job_steps(id uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(s.name, s.result), '{}'::jsonb)
  from public.job_steps s
  where s.job_id = get_job_steps.id
$$;

-- Store a completed step, only while worker_id holds the job on that attempt (a fenced-out
-- attempt stores nothing and gets false). A step stored already keeps its first result. Adds a
-- 'step' event (its name, never its result).
create function public.save_job_step(
  id uuid,
  worker_id text,
  attempt integer,
  name text,
  result jsonb default null,
  duration_ms integer default null
)
returns boolean
language plpgsql
volatile
-- As owner: it writes history rows, which no caller may write directly.
security definer
set search_path = ''
as $$
declare
  j public.jobs;
begin
  perform public.job_check_argument(length(name) between 1 and 200, 'name must be 1 to 200 characters');
  perform public.job_check_argument(attempt is not null, 'attempt is required');
  select * into j from public.jobs x
  where x.id = save_job_step.id
    and public.job_lease_held(x.status, x.locked_by, x.attempts, save_job_step.worker_id, save_job_step.attempt)
  for share;
  if not found then
    return false;
  end if;
  insert into public.job_steps (job_id, name, attempt, result, duration_ms, worker_id)
  values (j.id, save_job_step.name, j.attempts, save_job_step.result, save_job_step.duration_ms, save_job_step.worker_id)
  on conflict on constraint job_steps_pkey do nothing;
  if found then
    insert into public.job_events (job_id, user_id, queue, task, event, from_status, to_status, stage, attempt, worker_id, actor, message)
    values (j.id, j.user_id, j.queue, j.task, 'step', 'processing', 'processing', j.stage, j.attempts,
            save_job_step.worker_id, public.job_actor(), 'step ' || save_job_step.name || ' completed');
  end if;
  return true;
end
$$;

revoke all on table public.job_stage_graphs, public.job_steps from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.job_stage_graphs to service_role;
grant select on table public.job_steps to service_role;
alter table public.job_stage_graphs enable row level security;
alter table public.job_steps enable row level security;

select public.job_grant_to_service_role_only(array[
  'public.register_job_stages(text, text, jsonb, text, text, text)',
  'public.job_before_stage_change()',
  'public.job_before_dead_letter()',
  'public.transition_job(uuid, text, integer, text, jsonb)',
  'public.get_job_steps(uuid)',
  'public.save_job_step(uuid, text, integer, text, jsonb, integer)'
]);

notify pgrst, 'reload schema';
