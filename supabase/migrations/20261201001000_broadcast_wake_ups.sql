-- supajobs: wake-ups through Supabase Realtime Broadcast, opt-in.
--
-- With postgres_changes, Realtime checks every change of public.jobs for every subscriber, one
-- change at a time. With broadcast wake-ups the database itself sends one small message per
-- statement that made work ready (the same statement-level summary as the NOTIFY of
-- job_notify_ready: the queues, how many jobs, the earliest future run_at) through Supabase's
-- realtime.send(), on the private topic 'supajobs:jobs'; Realtime relays it as it is.
--
-- Off until a worker started with REALTIME_WAKE_UPS=broadcast calls set_broadcast_wake_ups(true)
-- (it stays on for every producer; set_broadcast_wake_ups(false) turns it off again). Off, a
-- statement that made work ready pays one catalog lookup on plain PostgreSQL (no schema
-- realtime), and one read of a one-row table on Supabase. realtime.send exists on Supabase only:
-- it is looked up when a message is due, so this migration applies, and inserts work, on plain
-- PostgreSQL too, where set_broadcast_wake_ups(true) answers false and the worker polls.

create table supajobs.wake_up_settings (
  only_row boolean primary key default true check (only_row),
  broadcast boolean not null default false,
  updated_at timestamptz not null default now()
);
revoke all on table supajobs.wake_up_settings from public;
insert into supajobs.wake_up_settings default values;
-- job_notify_ready reads it as its caller: the owner (from the triggers) or service_role
-- (resume_queue). Nothing else in schema supajobs is granted to service_role.
grant usage on schema supajobs to service_role;
grant select on table supajobs.wake_up_settings to service_role;

-- One broadcast, if realtime.send exists (job_notify_ready calls it only when they are on).
-- SECURITY DEFINER: realtime.send inserts into realtime.messages as its caller, which must be
-- allowed past that table's RLS (Supabase's `postgres` is; service_role, the caller of
-- resume_queue, may lack EXECUTE on realtime.send). realtime.send turns its own errors into a
-- WARNING, so a broadcast that fails never undoes the statement that made the work ready.
create function public.job_broadcast_ready(queues text[], ready_count bigint, next_run_at timestamptz)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    return;
  end if;
  perform realtime.send(
    jsonb_build_object('queues', queues, 'count', ready_count, 'next_run_at', next_run_at),
    'ready',
    'supajobs:jobs',
    true
  );
end
$$;

-- As in 20261123000200_jobs_triggers.sql, plus the broadcast of the same summary when they are on.
create or replace function public.job_notify_ready(queues text[], run_ats timestamptz[])
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
  -- NOTIFY payloads are capped near 8 kB: past 50 queues, say "any queue" (null). The broadcast
  -- says the same, so that one message stays small however many queues a statement touched.
  if cardinality(ready_queues) > 50 then
    ready_queues := null;
  end if;
  perform pg_notify('supajobs_jobs', json_build_object(
    'queues', ready_queues,
    'count', ready_count,
    'next_run_at', next_run_at
  )::text);
  -- Nested: the schema test is a cheap catalog lookup (no realtime, no broadcasts: plain
  -- PostgreSQL stops there), the setting a query.
  if to_regnamespace('realtime') is not null then
    if (select s.broadcast from supajobs.wake_up_settings s) then
      perform public.job_broadcast_ready(ready_queues, ready_count, next_run_at);
    end if;
  end if;
end
$$;

-- Turns broadcast wake-ups on or off for every producer; answers whether messages will be sent.
-- Turning them on without realtime.send (plain PostgreSQL, or Realtime not installed) changes
-- nothing and answers false. Writes only when the setting changes, so any number of workers may
-- call it at start.
create function public.set_broadcast_wake_ups(enabled boolean)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  send regprocedure := to_regprocedure('realtime.send(jsonb, text, text, boolean)');
begin
  perform public.job_check_argument(enabled is not null, 'enabled must be true or false');
  if enabled then
    -- Nested: SQL does not promise to test "send is null" before the schema exists.
    if send is null then
      return false;
    end if;
    if not (has_schema_privilege('realtime', 'usage') and has_function_privilege(send, 'execute')) then
      return false;
    end if;
  end if;
  update supajobs.wake_up_settings s
  set broadcast = enabled, updated_at = now()
  where s.broadcast is distinct from enabled;
  return enabled;
end
$$;

select public.job_grant_to_service_role_only(array[
  'public.job_broadcast_ready(text[], bigint, timestamptz)',
  'public.set_broadcast_wake_ups(boolean)'
]);

notify pgrst, 'reload schema';
