-- supajobs: history, wake-ups and end-user inserts, as triggers on public.jobs.
--
-- History and wake-ups are statement-level triggers over transition tables: one INSERT into
-- job_events and at most one NOTIFY per statement, however many rows it touched (a NOTIFY takes a
-- global lock at commit, so one per row would serialise every producer).

-- Wake-up: one notification per statement on channel 'supajobs_jobs', naming the queues that got
-- ready work, how many jobs, and the earliest future run_at so an idle worker can set a timer.
-- Takes the queue and run_at of each job that became pending (aligned arrays).
create function public.job_notify_ready(queues text[], run_ats timestamptz[])
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  ready_queues text[];
  ready_count bigint;
  next_run_at timestamptz;
begin
  select array_agg(distinct u.queue) filter (where u.run_at <= now()),
         count(*) filter (where u.run_at <= now()),
         min(u.run_at) filter (where u.run_at > now())
    into ready_queues, ready_count, next_run_at
  from unnest(queues, run_ats) as u(queue, run_at);
  if ready_count = 0 and next_run_at is null then
    return;
  end if;
  perform pg_notify('supajobs_jobs', json_build_object(
    -- NOTIFY payloads are capped near 8 kB: past 50 queues, say "any queue" (null).
    'queues', case when cardinality(ready_queues) <= 50 then ready_queues end,
    'count', ready_count,
    'next_run_at', next_run_at
  )::text);
end
$$;

-- Who made a change. The history triggers run as their owner (SECURITY DEFINER, so that end
-- users need no rights on job_events), where current_user is the owner: the role the request set
-- (PostgREST's `set local role`) is in the setting 'role'.
create function public.job_actor()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('role'), 'none'), session_user)
$$;

create function public.job_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- Once per statement: a function call per row would cost more than the row itself.
  actor text := public.job_actor();
begin
  insert into public.job_events (job_id, user_id, queue, task, event, from_status, to_status, stage, attempt, actor)
  select n.id, n.user_id, n.queue, n.task, 'enqueued', null, n.status, n.stage, n.attempts, actor
  from new_jobs n;

  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at))
  from new_jobs n
  where n.status = 'pending';
  return null;
end
$$;

create trigger jobs_after_insert
  after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function public.job_after_insert();

create function public.job_after_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor text := public.job_actor();
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
  where n.status is distinct from o.status or n.stage is distinct from o.stage;

  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at))
  from new_jobs n
  join old_jobs o on o.id = n.id
  where n.status = 'pending' and o.status <> 'pending';
  return null;
end
$$;

create trigger jobs_after_update
  after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function public.job_after_update();

-- History is append-only: no update ever, and a delete only from purge_jobs(). purge_jobs (as
-- owner) first writes its transaction's id into supajobs.history_purges, a table only the owner
-- can write, and removes it before returning; this guard lets a delete through only in a
-- transaction holding that row. Nothing a client can set (a setting, a role it may take) makes
-- such a row: anon, authenticated and service_role have no rights on the table (nor any DELETE
-- on job_events), and an error inside purge_jobs rolls the row back with everything else.
create schema if not exists supajobs;
revoke all on schema supajobs from public;

create table supajobs.history_purges (
  xact xid8 primary key
);
revoke all on table supajobs.history_purges from public;

create function public.job_events_guard()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Read as the caller: a role other than the owner cannot read the table, so it is refused here too.
  if tg_op = 'DELETE' and exists (select 1 from supajobs.history_purges p where p.xact = pg_current_xact_id()) then
    return null;
  end if;
  raise exception 'job_events is append-only: history goes only with purge_jobs()' using errcode = '42501';
end
$$;

-- Statement level: a purge of many rows checks once.
create trigger job_events_append_only
  before update or delete on public.job_events
  for each statement execute function public.job_events_guard();

create trigger job_events_no_truncate
  before truncate on public.job_events
  for each statement execute function public.job_events_guard();

-- A job's id is its history's key: changing it would leave the change unrecorded (the history
-- trigger pairs old and new rows by id).
create function public.job_id_guard()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'a job''s id cannot change' using errcode = '42501';
end
$$;

create trigger jobs_id_fixed
  before update on public.jobs
  for each row
  when (old.id is distinct from new.id)
  execute function public.job_id_guard();

-- An end user's insert (through RLS) names only task, payload, run_at, job_key and group_key; all
-- the queue trusts is set here: owner, status, attempts, priority from the owner's plan tier,
-- and queue and attempts from job_client_tasks, which also says which tasks users may enqueue.
-- The tier also bounds what users insert: payload size and run_at (now .. max_run_at_ahead)
-- here; how many live jobs they may have in job_check_user_live_jobs, once per statement.
create function public.job_before_user_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner uuid := auth.uid();
  client_task public.job_client_tasks;
  plan public.job_priority_tiers;
  payload_bytes integer;
begin
  if owner is null then
    raise exception 'an end user job needs a signed-in user' using errcode = '42501';
  end if;
  select * into client_task from public.job_client_tasks where task = new.task;
  if not found then
    raise exception 'task "%" cannot be enqueued by users', new.task using errcode = '42501';
  end if;
  select t.* into plan
  from public.job_priority_tiers t
  where t.tier = coalesce((select u.tier from public.job_user_tiers u where u.user_id = owner), 'free');
  if not found then
    -- No 'free' row: the column defaults of job_priority_tiers.
    plan.tier := 'free';
    plan.priority := 0;
    plan.max_live_jobs := 100;
    plan.max_payload_bytes := 65536;
    plan.max_run_at_ahead := interval '30 days';
  end if;

  new.payload := coalesce(new.payload, '{}'::jsonb);
  payload_bytes := octet_length(new.payload::text);
  if payload_bytes > plan.max_payload_bytes then
    raise exception 'payload is % bytes; at most % on plan "%"', payload_bytes, plan.max_payload_bytes, plan.tier
      using errcode = '54000';
  end if;
  new.run_at := greatest(coalesce(new.run_at, now()), now());
  if new.run_at > now() + plan.max_run_at_ahead then
    raise exception 'run_at may be at most % ahead on plan "%"', plan.max_run_at_ahead, plan.tier
      using errcode = '22023';
  end if;
  new.id := gen_random_uuid();
  new.user_id := owner;
  new.from_user := true;
  new.queue := client_task.queue;
  new.max_attempts := client_task.max_attempts;
  new.status := 'pending';
  new.attempts := 0;
  new.priority := plan.priority;
  new.backoff_base_seconds := null;
  new.backoff_max_seconds := null;
  new.locked_by := null;
  new.lease_expires_at := null;
  new.stage := null;
  new.progress := null;
  new.result := null;
  new.error_code := null;
  new.last_error := null;
  new.created_at := now();
  new.started_at := null;
  new.completed_at := null;
  new.failed_at := null;
  new.updated_at := now();
  return new;
end
$$;

-- Only end users' inserts pay for this trigger; the service role and the owner skip it.
create trigger jobs_before_user_insert
  before insert on public.jobs
  for each row
  when (current_user in ('authenticated', 'anon'))
  execute function public.job_before_user_insert();

-- After an end user's insert statement: their pending and processing jobs, this statement's
-- included, within their plan's max_live_jobs, or the whole statement is undone (54000). Once
-- per statement and user, so a large insert costs one bounded count, not one per row. A
-- transaction-level lock per user orders concurrent inserts of one user, and each count (a new
-- snapshot under READ COMMITTED, as PostgREST runs) sees what the one before committed.
create function public.job_check_user_live_jobs()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner record;
begin
  for owner in
    select n.user_id,
           coalesce((select t.max_live_jobs
                       from public.job_priority_tiers t
                      where t.tier = coalesce((select u.tier from public.job_user_tiers u where u.user_id = n.user_id), 'free')),
                    100) as cap
    from (select distinct n.user_id from new_jobs n where n.from_user) n
  loop
    perform pg_advisory_xact_lock(hashtext('supajobs.user_live_jobs'), hashtext(owner.user_id::text));
    if (select count(*) from (select 1 from public.jobs j
                              where j.user_id = owner.user_id and j.from_user and j.status in ('pending', 'processing')
                              limit owner.cap + 1) l) > owner.cap then
      raise exception 'at most % pending or processing jobs on your plan', owner.cap using errcode = '54000';
    end if;
  end loop;
  return null;
end
$$;

create trigger jobs_after_user_insert
  after insert on public.jobs
  referencing new table as new_jobs
  for each statement
  when (current_user in ('authenticated', 'anon'))
  execute function public.job_check_user_live_jobs();

-- Realtime: workers wake on INSERT events, apps follow their own jobs' updates.
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime')
     and not exists (select 1 from pg_publication_tables
                     where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'jobs') then
    alter publication supabase_realtime add table public.jobs;
  end if;
end
$$;
