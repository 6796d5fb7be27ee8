-- supajobs: recurring jobs. A schedule is a row; workers read the cron expressions (parsed in the
-- worker by a cron library, with time zones and daylight saving), and hand each due tick to
-- fire_schedule, which enqueues it under the schedule's row lock only if it is later than the
-- last tick handled. However many workers fire the same tick, it becomes one job; the job's
-- job_key ('schedule:<name>@<tick in UTC>') names the schedule and the tick.

create table public.job_schedules (
  name          text primary key check (length(name) between 1 and 200),
  -- Five fields, or six with leading seconds (checked fully by the worker's cron parser).
  cron          text not null check (length(cron) between 1 and 200),
  timezone      text not null default 'UTC',
  task          text not null check (length(task) between 1 and 200),
  payload       jsonb not null default '{}'::jsonb,
  queue         text not null default 'default' check (length(queue) between 1 and 200),
  priority      integer not null default 0 check (priority between -1000 and 1000),
  max_attempts  integer not null default 5 check (max_attempts between 1 and 1000),
  enabled       boolean not null default true,
  -- Ticks missed while no worker ran (older than the worker's catch-up window): 'run_latest'
  -- enqueues the most recent one once (unless a tick in the window runs anyway); 'skip' drops them.
  missed        text not null default 'run_latest' check (missed in ('run_latest', 'skip')),
  -- 'sql': made by schedule_job; 'worker': declared in a worker's code (sync_job_schedules).
  origin        text not null default 'sql' check (origin in ('sql', 'worker')),
  -- Ticks up to greatest(since, last_tick) are done: since moves to now() when the cron or time
  -- zone changes and when the schedule is enabled again, so those never fire past ticks.
  since         timestamptz not null default now(),
  last_tick     timestamptz,
  last_job_id   uuid,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

comment on table public.job_schedules is 'supajobs: recurring jobs (cron). Write through schedule_job, unschedule_job, set_schedule_enabled.';

-- The job_key of a schedule's tick.
create function public.job_schedule_key(name text, tick timestamptz)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'schedule:' || name || '@' || to_char(tick at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Checks and upserts one schedule (see schedule_job); origin 'worker' marks it as declared in code.
create function public.job_upsert_schedule(
  name text, cron text, task text, payload jsonb, queue text, priority integer, max_attempts integer,
  timezone text, enabled boolean, missed text, origin text, keep_enabled boolean
)
returns setof public.job_schedules
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(length(name) between 1 and 200, 'name must be 1 to 200 characters');
  perform public.job_check_argument(cron ~ '^\s*[0-9A-Za-z*/,?#-]+(\s+[0-9A-Za-z*/,?#-]+){4,5}\s*$',
    'cron must have five fields (minute hour day month weekday), or six with leading seconds');
  perform public.job_check_argument(length(task) between 1 and 200, 'task must be 1 to 200 characters');
  perform public.job_check_argument(payload is not null, 'payload must be JSON (not null)');
  perform public.job_check_argument(length(queue) between 1 and 200, 'queue must be 1 to 200 characters');
  perform public.job_check_argument(priority between -1000 and 1000, 'priority must be between -1000 and 1000');
  perform public.job_check_argument(max_attempts between 1 and 1000, 'max_attempts must be between 1 and 1000');
  perform public.job_check_argument(exists (select 1 from pg_catalog.pg_timezone_names z where z.name = timezone),
    format('timezone %s is not a time zone name (such as UTC or Europe/Berlin)', timezone));
  perform public.job_check_argument(enabled is not null, 'enabled must be true or false');
  perform public.job_check_argument(missed in ('run_latest', 'skip'), 'missed must be run_latest or skip');
  return query
  insert into public.job_schedules as s (name, cron, task, payload, queue, priority, max_attempts, timezone, enabled, missed, origin)
  values (job_upsert_schedule.name, btrim(job_upsert_schedule.cron), job_upsert_schedule.task, job_upsert_schedule.payload,
          job_upsert_schedule.queue, job_upsert_schedule.priority, job_upsert_schedule.max_attempts,
          job_upsert_schedule.timezone, job_upsert_schedule.enabled, job_upsert_schedule.missed, job_upsert_schedule.origin)
  on conflict on constraint job_schedules_pkey do update
  set cron = excluded.cron, task = excluded.task, payload = excluded.payload, queue = excluded.queue,
      priority = excluded.priority, max_attempts = excluded.max_attempts, timezone = excluded.timezone,
      enabled = case when job_upsert_schedule.keep_enabled then s.enabled else excluded.enabled end,
      missed = excluded.missed,
      origin = case when excluded.origin = 'worker' then 'worker' else s.origin end,
      since = case when s.cron <> excluded.cron or s.timezone <> excluded.timezone
                     or (not s.enabled and not job_upsert_schedule.keep_enabled and excluded.enabled)
                   then now() else s.since end,
      updated_at = now()
  returning s.*;
end
$$;

-- Create or replace the schedule called name: every tick of cron (in timezone) enqueues task with
-- payload on queue. Returns the schedule.
create function public.schedule_job(
  name text,
  cron text,
  task text,
  payload jsonb default '{}'::jsonb,
  queue text default 'default',
  priority integer default 0,
  max_attempts integer default 5,
  timezone text default 'UTC',
  enabled boolean default true,
  missed text default 'run_latest'
)
returns setof public.job_schedules
language sql
volatile
set search_path = ''
as $$
  select * from public.job_upsert_schedule(name, cron, task, payload, queue, priority, max_attempts,
                                           timezone, enabled, missed, 'sql', false)
$$;

-- Remove the schedule called name (its jobs already enqueued stay). Returns it, or nothing.
create function public.unschedule_job(name text)
returns setof public.job_schedules
language sql
volatile
set search_path = ''
as $$
  delete from public.job_schedules s where s.name = unschedule_job.name returning s.*
$$;

-- Turn a schedule off or on. Ticks that passed while it was off never fire.
create function public.set_schedule_enabled(name text, enabled boolean)
returns setof public.job_schedules
language sql
volatile
set search_path = ''
as $$
  update public.job_schedules s
  set enabled = set_schedule_enabled.enabled,
      since = case when set_schedule_enabled.enabled and not s.enabled then now() else s.since end,
      updated_at = now()
  where s.name = set_schedule_enabled.name
  returning s.*
$$;

-- A worker's declared schedules (a JSON array of objects with schedule_job's argument names):
-- each is upserted (an existing one keeps its enabled switch, which belongs to operators), and
-- schedules declared by workers before but not in this list are removed. Returns the list's rows.
create function public.sync_job_schedules(schedules jsonb)
returns setof public.job_schedules
language plpgsql
volatile
set search_path = ''
as $$
declare
  s jsonb;
  names text[] := '{}';
begin
  perform public.job_check_argument(jsonb_typeof(schedules) = 'array', 'schedules must be a JSON array of schedule objects');
  for s in select e from jsonb_array_elements(schedules) e loop
    perform public.job_check_argument(jsonb_typeof(s) = 'object' and jsonb_typeof(s -> 'name') = 'string'
      and jsonb_typeof(s -> 'cron') = 'string' and jsonb_typeof(s -> 'task') = 'string',
      'each schedule needs a name, a cron and a task (strings)');
    names := names || (s ->> 'name');
    return query select * from public.job_upsert_schedule(
      s ->> 'name', s ->> 'cron', s ->> 'task', coalesce(nullif(s -> 'payload', 'null'::jsonb), '{}'::jsonb),
      coalesce(s ->> 'queue', 'default'), coalesce((s ->> 'priority')::integer, 0),
      coalesce((s ->> 'max_attempts')::integer, 5), coalesce(s ->> 'timezone', 'UTC'),
      coalesce((s ->> 'enabled')::boolean, true), coalesce(s ->> 'missed', 'run_latest'), 'worker', true);
  end loop;
  delete from public.job_schedules d where d.origin = 'worker' and d.name <> all (names);
end
$$;

-- Every schedule, with the database's clock (workers compute ticks on it, not on their own).
create function public.get_job_schedules()
returns table (
  name text, cron text, timezone text, task text, payload jsonb, queue text, priority integer,
  max_attempts integer, enabled boolean, missed text, origin text, since timestamptz,
  last_tick timestamptz, last_job_id uuid, created_at timestamptz, updated_at timestamptz,
  checked_at timestamptz
)
language sql
volatile
set search_path = ''
as $$
  select s.name, s.cron, s.timezone, s.task, s.payload, s.queue, s.priority, s.max_attempts, s.enabled,
         s.missed, s.origin, s.since, s.last_tick, s.last_job_id, s.created_at, s.updated_at, clock_timestamp()
  from public.job_schedules s
  order by s.name
$$;

-- Enqueue the ticks of schedule name that are due (not after now) and later than the last tick
-- handled, one job each, in order; then record the latest of them, or skip_through when later
-- (missed ticks passed over). Under the schedule's row lock: of several workers firing one tick,
-- one enqueues it and the others get nothing. Returns the ticks enqueued and their jobs.
create function public.fire_schedule(name text, ticks timestamptz[], skip_through timestamptz default null)
returns table (tick timestamptz, job_id uuid)
language plpgsql
volatile
set search_path = ''
as $$
declare
  s public.job_schedules;
  done_through timestamptz;
  due timestamptz[];
  ids uuid[];
  now_at timestamptz := clock_timestamp();
begin
  select * into s from public.job_schedules c where c.name = fire_schedule.name for update;
  if not found or not s.enabled then
    return;
  end if;
  done_through := greatest(s.last_tick, s.since);
  select coalesce(array_agg(distinct t.t order by t.t), '{}') into due
  from unnest(ticks) t(t)
  where t.t > done_through and t.t <= now_at;
  if cardinality(due) > 0 then
    select array_agg(e.id order by e.ord) into ids
    from public.enqueue_jobs((
      select jsonb_agg(jsonb_build_object('task', s.task, 'payload', s.payload, 'queue', s.queue,
                                          'priority', s.priority, 'max_attempts', s.max_attempts,
                                          'job_key', public.job_schedule_key(s.name, d.t)) order by d.t)
      from unnest(due) d(t))) with ordinality e(id, ord);
  end if;
  if skip_through > now_at then
    skip_through := null;
  end if;
  update public.job_schedules c
  set last_tick = greatest(done_through, due[cardinality(due)], skip_through),
      last_job_id = coalesce(ids[cardinality(ids)], c.last_job_id),
      updated_at = now()
  where c.name = s.name;
  return query select d.t, d.id from unnest(due, ids) d(t, id);
end
$$;

revoke all on table public.job_schedules from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.job_schedules to service_role;
alter table public.job_schedules enable row level security;
alter table public.job_queues enable row level security;

select public.job_grant_to_service_role_only(array[
  'public.job_schedule_key(text, timestamptz)',
  'public.job_upsert_schedule(text, text, text, jsonb, text, integer, integer, text, boolean, text, text, boolean)',
  'public.schedule_job(text, text, text, jsonb, text, integer, integer, text, boolean, text)',
  'public.unschedule_job(text)',
  'public.set_schedule_enabled(text, boolean)',
  'public.sync_job_schedules(jsonb)',
  'public.get_job_schedules()',
  'public.fire_schedule(text, timestamptz[], timestamptz)'
]);

notify pgrst, 'reload schema';
