-- supajobs: a wake-up for a few jobs goes to as many workers, not to every worker.
--
-- Every statement that made work ready sent one NOTIFY on 'supajobs_jobs', which every listening
-- worker received and answered with a claim: with 16 workers, a single insert woke 16 processes
-- and 15 of their claims came back empty. Now each worker's LISTEN connection also listens on a
-- channel of its own and registers it here (register_wake_up_listener). A statement that made
-- fewer jobs ready than there are live listeners notifies that many of them, taking turns; a
-- worker that is told but cannot claim (no free slot, not its queue, stopping) passes the
-- wake-up on to 'supajobs_jobs'. Everything else is as before: a statement with at least as many
-- ready jobs as listeners, with a future run_at, or with no registered listener (workers of an
-- older release, a transaction pooler, the supabase transport) notifies 'supajobs_jobs'.
--
-- Listeners are not kept alive by heartbeats: a registered connection holds a session-level
-- advisory lock (class 1937076330, 'supj', and its pid) until it ends, however it ends. A
-- listener whose lock can be taken is gone: it is skipped, and removed at the next registration.

create unlogged table supajobs.wake_up_listeners (
  pid integer primary key,
  registered_at timestamptz not null default now()
);
revoke all on table supajobs.wake_up_listeners from public;

-- Whose turn it is: one number per statement that notifies listeners.
create sequence supajobs.wake_up_turn;
revoke all on sequence supajobs.wake_up_turn from public;

-- Called on a worker's LISTEN connection once it listens: registers that connection and answers
-- the channel it must also listen on.
create function public.register_wake_up_listener()
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform pg_advisory_lock(1937076330, pg_backend_pid());
  -- A lock that can be taken is a listener gone (this connection's own never conflicts with it).
  delete from supajobs.wake_up_listeners l
  where pg_try_advisory_xact_lock_shared(1937076330, l.pid);
  insert into supajobs.wake_up_listeners (pid) values (pg_backend_pid())
  on conflict (pid) do update set registered_at = now();
  return 'supajobs_jobs_' || pg_backend_pid();
end
$$;

-- The pids of ready_count live listeners to notify of ready_count ready jobs, taking turns; null
-- when there are not more listeners than jobs, or not enough of them live (then everyone is told,
-- on 'supajobs_jobs'). A listener is live while its lock is held: a try for a shared lock, which
-- fails at once on a live one (on a gone one it succeeds, and ends with the transaction). Writes
-- nothing and waits for nothing: a producer is never held up here.
-- SECURITY DEFINER: job_notify_ready runs as the triggers' owner or as service_role
-- (resume_queue), and neither is granted the table.
create function public.job_wake_up_targets(ready_count bigint)
returns integer[]
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  pids integer[];
  total integer;
  turn bigint;
  chosen integer[] := '{}';
  pid integer;
begin
  select array_agg(l.pid order by l.pid) into pids from supajobs.wake_up_listeners l;
  total := coalesce(cardinality(pids), 0);
  if total <= ready_count then
    return null;
  end if;
  turn := nextval('supajobs.wake_up_turn');
  for i in 0 .. total - 1 loop
    pid := pids[((turn + i) % total)::integer + 1];
    if not pg_try_advisory_xact_lock_shared(1937076330, pid) then
      chosen := chosen || pid;
      if cardinality(chosen) = ready_count then
        return chosen;
      end if;
    end if;
  end loop;
  return null;
end
$$;

-- As in 20261201001000_broadcast_wake_ups.sql, with the NOTIFY to the chosen listeners when there
-- are more of them than ready jobs.
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
  summary text;
  targets integer[];
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
  summary := json_build_object('queues', ready_queues, 'count', ready_count, 'next_run_at', next_run_at)::text;
  -- A future run_at is for every worker's timer; ready jobs alone can go to a few workers.
  if next_run_at is null then
    targets := public.job_wake_up_targets(ready_count);
  end if;
  if targets is null then
    perform pg_notify('supajobs_jobs', summary);
  else
    perform pg_notify('supajobs_jobs_' || p, summary) from unnest(targets) as p;
  end if;
  -- Nested: the schema test is a cheap catalog lookup (no realtime, no broadcasts: plain
  -- PostgreSQL stops there), the setting a query.
  if to_regnamespace('realtime') is not null then
    if (select s.broadcast from supajobs.wake_up_settings s) then
      perform public.job_broadcast_ready(ready_queues, ready_count, next_run_at);
    end if;
  end if;
end
$$;

select public.job_grant_to_service_role_only(array[
  'public.register_wake_up_listener()',
  'public.job_wake_up_targets(bigint)'
]);

notify pgrst, 'reload schema';
