-- supajobs: lifecycle hooks and the dead-letter alert.
--
-- A hook is an internal job (task 'supajobs.hook') enqueued by a trigger in the same transaction
-- as the change it reacts to, so it cannot be lost: not when the worker that held the job died
-- (a reclaim), not when an operator or an Edge Function made the change. The worker runs it
-- like any job (at least once, with retries).

-- Which lifecycle events of a task have hooks, registered by workers at start.
-- Events: retry_scheduled, dead_lettered, lease_expired, cancelled.
create table public.job_hooks (
  task   text primary key check (length(task) between 1 and 200),
  events text[] not null
           check (events <@ array['retry_scheduled', 'dead_lettered', 'lease_expired', 'cancelled']),
  updated_at timestamptz not null default now()
);

comment on table public.job_hooks is 'supajobs: lifecycle events each task reacts to; a trigger enqueues a supajobs.hook job for each.';

create function public.register_job_hooks(task text, events text[])
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(length(task) between 1 and 200, 'task must be 1 to 200 characters');
  perform public.job_check_argument(
    events is not null and events <@ array['retry_scheduled', 'dead_lettered', 'lease_expired', 'cancelled'],
    'events may name only retry_scheduled, dead_lettered, lease_expired and cancelled');
  if cardinality(events) = 0 then
    delete from public.job_hooks h where h.task = register_job_hooks.task;
    return;
  end if;
  insert into public.job_hooks as h (task, events) values (task, events)
  on conflict on constraint job_hooks_pkey do update set events = excluded.events, updated_at = now();
end
$$;

-- The lifecycle event a status change is, if any: a lost lease (reclaim) first, then a dead
-- letter, a scheduled retry (not a release at shutdown) and a cancel.
create function public.job_lifecycle_event(old_status text, new_status text, error_code text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when old_status = 'processing' and error_code = 'LEASE_EXPIRED' and new_status in ('pending', 'failed') then 'lease_expired'
    when new_status = 'failed' then 'dead_lettered'
    when old_status = 'processing' and new_status = 'pending' and error_code is distinct from 'RELEASED' then 'retry_scheduled'
    when new_status = 'cancelled' then 'cancelled'
  end
$$;

-- Enqueues the hook job for a job's lifecycle event, in the transaction of the change. A lease
-- lost for good is also a dead letter: both hooks run. The hook's payload names the job and the
-- event, with the job's payload for the hook to act on; its job_key makes a repeated change
-- enqueue it once.
create function public.job_after_lifecycle_change()
returns trigger
language plpgsql
-- As the writer of the change (service_role, or the owner inside cancel_my_job): both may insert jobs.
set search_path = ''
as $$
declare
  hooked text[];
  event text;
begin
  select h.events into hooked from public.job_hooks h where h.task = new.task;
  if hooked is null then
    return null;
  end if;
  foreach event in array array[public.job_lifecycle_event(old.status, new.status, new.error_code),
                               case when new.status = 'failed' and new.error_code = 'LEASE_EXPIRED' then 'dead_lettered' end] loop
    if event is not null and event = any (hooked) then
      insert into public.jobs (task, queue, priority, payload, job_key, max_attempts)
      values ('supajobs.hook', new.queue, new.priority,
              jsonb_build_object('job_id', new.id, 'task', new.task, 'event', event, 'attempt', new.attempts,
                                 'error_code', new.error_code, 'last_error', left(new.last_error, 2000), 'stage', new.stage,
                                 'status', new.status, 'payload', new.payload),
              'hook:' || new.id || ':' || event || ':' || new.attempts, 10)
      on conflict (job_key, task, user_id, from_user) where job_key is not null and status in ('pending', 'processing') do nothing;
    end if;
  end loop;
  return null;
end
$$;

-- The WHEN clause keeps claims and completions free of it.
create trigger jobs_after_lifecycle_change
  after update of status on public.jobs
  for each row
  when (old.status is distinct from new.status and new.status in ('pending', 'failed', 'cancelled'))
  execute function public.job_after_lifecycle_change();

-- The dead-letter alert's fleet-wide state: the failed count each queue was last alerted at, so
-- that of many workers reading the same statistics only one alerts per crossing.
create table public.job_dead_letter_alerts (
  queue       text primary key,
  failed_seen bigint not null,
  alerted_at  timestamptz
);

-- Given a queue's current failed count and its threshold: true (once, for one caller) when the
-- count grew by at least threshold since the last alert (from 0 for a queue never alerted on, so
-- a backlog found at the first check alerts once). A count that fell (purged, retried) resets the base.
create function public.check_dead_letter_alert(queue text, failed bigint, threshold integer)
returns boolean
language plpgsql
volatile
set search_path = ''
as $$
declare
  seen bigint;
begin
  perform public.job_check_argument(threshold >= 1, 'threshold must be at least 1');
  insert into public.job_dead_letter_alerts as a (queue, failed_seen) values (queue, 0)
  on conflict on constraint job_dead_letter_alerts_pkey do nothing;
  select a.failed_seen into seen from public.job_dead_letter_alerts a
  where a.queue = check_dead_letter_alert.queue for update;
  if failed - seen >= threshold then
    update public.job_dead_letter_alerts a set failed_seen = failed, alerted_at = now()
    where a.queue = check_dead_letter_alert.queue;
    return true;
  end if;
  if failed < seen then
    update public.job_dead_letter_alerts a set failed_seen = failed where a.queue = check_dead_letter_alert.queue;
  end if;
  return false;
end
$$;

revoke all on table public.job_hooks, public.job_dead_letter_alerts from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.job_hooks, public.job_dead_letter_alerts to service_role;
alter table public.job_hooks enable row level security;
alter table public.job_dead_letter_alerts enable row level security;

select public.job_grant_to_service_role_only(array[
  'public.register_job_hooks(text, text[])',
  'public.job_lifecycle_event(text, text, text)',
  'public.job_after_lifecycle_change()',
  'public.check_dead_letter_alert(text, bigint, integer)'
]);

notify pgrst, 'reload schema';
