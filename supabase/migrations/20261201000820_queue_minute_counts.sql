-- supajobs: what happens when jobs finish, once per statement: completions and dead letters are
-- counted per queue and minute (the overview's last hour reads these counters, not the jobs), and
-- the jobs someone waits for are notified (job_waiters). The overview and get_queue_stats() also
-- count the jobs waiting for their dependencies.

-- Completions and dead letters per queue and minute, as a ring of 60 minutes: a row is reused an
-- hour later (its counts start again), so the table never grows beyond queues x 60 x 8 rows and
-- needs no clean-up. Each connection writes its own shard (pg_backend_pid() % 8), so concurrent
-- completions of one queue rarely wait for each other's row; readers add the shards up.
create table public.queue_minute_counts (
  queue     text not null,
  -- Minutes since the epoch, modulo 60 (the same whatever the session's time zone).
  slot      smallint not null check (slot between 0 and 59),
  shard     smallint not null check (shard between 0 and 7),
  -- The minute the counts are of.
  minute    timestamptz not null,
  completed integer not null default 0,
  failed    integer not null default 0,
  primary key (queue, slot, shard)
) with (fillfactor = 50);

comment on table public.queue_minute_counts is 'supajobs: completions and dead letters per queue and minute over the last hour (a ring of 60 minutes), kept by job_after_finish.';

-- The overview reads the last hour through it. Updates that only count (the minute unchanged)
-- stay HOT; the room left by the fillfactor keeps them on their page.
create index queue_minute_counts_minute_idx on public.queue_minute_counts (minute);

-- The last hour as it stood before these counters: from the jobs, once.
insert into public.queue_minute_counts (queue, slot, shard, minute, completed, failed)
select f.queue, (extract(epoch from f.minute)::bigint / 60 % 60)::smallint, 0, f.minute,
       count(*) filter (where f.status = 'completed'), count(*) filter (where f.status = 'failed')
from (select j.queue, j.status, date_trunc('minute', coalesce(j.completed_at, j.failed_at)) as minute
      from public.jobs j
      where (j.status = 'completed' and j.completed_at > now() - interval '1 hour')
         or (j.status = 'failed' and j.failed_at > now() - interval '1 hour')) f
group by f.queue, f.minute;

-- Nothing reads completed_at by range any more (it served the old overview): completions need
-- not pay for this index.
drop index public.jobs_completed_idx;

create function public.job_after_finish()
returns trigger
language plpgsql
-- As owner: the counters and the waiters are not the writers' to change.
security definer
set search_path = ''
as $$
declare
  this_minute timestamptz := date_trunc('minute', now());
  notified integer;
begin
  -- Ordered by queue: two statements bumping the same rows lock them in the same order.
  insert into public.queue_minute_counts as c (queue, slot, shard, minute, completed, failed)
  select n.queue, (extract(epoch from this_minute)::bigint / 60 % 60)::smallint, (pg_backend_pid() % 8)::smallint, this_minute,
         count(*) filter (where n.status = 'completed'), count(*) filter (where n.status = 'failed')
  from new_jobs n
  join old_jobs o on o.id = n.id
  where n.status in ('completed', 'failed') and o.status is distinct from n.status
  group by n.queue
  order by n.queue
  on conflict (queue, slot, shard) do update
  set completed = case when c.minute = excluded.minute then c.completed + excluded.completed else excluded.completed end,
      failed = case when c.minute = excluded.minute then c.failed + excluded.failed else excluded.failed end,
      minute = excluded.minute
  -- A transaction older than the row's minute (it began over a minute ago) adds nothing rather
  -- than wiping a newer minute.
  where c.minute <= excluded.minute;

  -- Waiters: usually none, and then this is one look at an empty table.
  if exists (select 1 from public.job_waiters) then
    with gone as (
      delete from public.job_waiters w
      using new_jobs n
      where w.job_id = n.id and n.status in ('completed', 'failed', 'cancelled')
      returning w.job_id
    ),
    finished as (
      -- NOTIFY payloads are capped near 8 kB: 200 ids (7.4 kB) a notification.
      select d.job_id, (row_number() over (order by d.job_id) - 1) / 200 as chunk
      from (select distinct g.job_id from gone g) d
    )
    select count(pg_notify('supajobs_finished', x.ids)) into notified
    from (select string_agg(f.job_id::text, ',') as ids from finished f group by f.chunk) x;
  end if;
  return null;
end
$$;

create trigger jobs_after_finish
  after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function public.job_after_finish();

-- As before, plus waiting: per queue, pending, scheduled, waiting, processing, completed, failed,
-- cancelled, the oldest ready job's age and the success rate (of all kept history).
drop function public.get_queue_stats();
create function public.get_queue_stats()
returns table (
  queue text,
  pending bigint,
  scheduled bigint,
  waiting bigint,
  processing bigint,
  completed bigint,
  failed bigint,
  cancelled bigint,
  oldest_pending_age_seconds double precision,
  success_rate double precision
)
language sql
stable
set search_path = ''
as $$
  with counts as (
    select j.queue,
           count(*) filter (where j.status = 'pending' and j.run_at <= now()) as pending,
           count(*) filter (where j.status = 'pending' and j.run_at > now()) as scheduled,
           count(*) filter (where j.status = 'waiting') as waiting,
           count(*) filter (where j.status = 'processing') as processing,
           count(*) filter (where j.status = 'completed') as completed,
           count(*) filter (where j.status = 'failed') as failed,
           count(*) filter (where j.status = 'cancelled') as cancelled,
           extract(epoch from now() - min(j.run_at) filter (where j.status = 'pending' and j.run_at <= now()))::double precision as oldest
    from public.jobs j
    group by j.queue
  )
  select c.queue, c.pending, c.scheduled, c.waiting, c.processing, c.completed, c.failed, c.cancelled,
         c.oldest,
         case when c.completed + c.failed = 0 then null
              else c.completed::double precision / (c.completed + c.failed) end
  from counts c
  order by c.queue
$$;

-- Per queue, from the live rows' partial indexes and the minute counters only (never a scan of
-- kept history): ready, scheduled, waiting, processing and failed (dead letter) counts, the
-- oldest ready job's age, completions and dead letters in the last hour, their success rate, and
-- completions per minute over the last hour (60 numbers, oldest minute first, this minute last).
-- A queue with none of these does not appear.
drop function public.get_queue_overview();
create function public.get_queue_overview()
returns table (
  queue text,
  pending bigint,
  scheduled bigint,
  waiting bigint,
  processing bigint,
  failed bigint,
  oldest_pending_age_seconds double precision,
  completed_last_hour bigint,
  failed_last_hour bigint,
  success_rate double precision,
  completions_per_minute integer[]
)
language sql
stable
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
  with live as (
    select j.queue,
           count(*) filter (where j.run_at <= now()) as pending,
           count(*) filter (where j.run_at > now()) as scheduled,
           0::bigint as waiting, 0::bigint as processing, 0::bigint as failed,
           min(j.run_at) filter (where j.run_at <= now()) as oldest
    from public.jobs j where j.status = 'pending' group by j.queue
    union all
    select j.queue, 0, 0, count(*), 0, 0, null from public.jobs j where j.status = 'waiting' group by j.queue
    union all
    select j.queue, 0, 0, 0, count(*), 0, null from public.jobs j where j.status = 'processing' group by j.queue
    union all
    select j.queue, 0, 0, 0, 0, count(*), null from public.jobs j where j.status = 'failed' group by j.queue
  ),
  counts as (
    select l.queue, sum(l.pending)::bigint as pending, sum(l.scheduled)::bigint as scheduled,
           sum(l.waiting)::bigint as waiting, sum(l.processing)::bigint as processing,
           sum(l.failed)::bigint as failed, min(l.oldest) as oldest
    from live l group by l.queue
  ),
  recent as (
    select c.queue, c.minute, sum(c.completed) as completed, sum(c.failed) as failed
    from public.queue_minute_counts c
    where c.minute > date_trunc('minute', now()) - interval '60 minutes'
    group by c.queue, c.minute
  ),
  hour as (
    select q.queue,
           array_agg(coalesce(r.completed, 0)::integer order by m.m) as per_minute,
           coalesce(sum(r.completed), 0)::bigint as completed,
           coalesce(sum(r.failed), 0)::bigint as failed
    from (select c.queue from counts c union select r.queue from recent r) q
    cross join generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') m(m)
    left join recent r on r.queue = q.queue and r.minute = m.m
    group by q.queue
  )
  select h.queue,
         coalesce(c.pending, 0),
         coalesce(c.scheduled, 0),
         coalesce(c.waiting, 0),
         coalesce(c.processing, 0),
         coalesce(c.failed, 0),
         extract(epoch from now() - c.oldest)::double precision,
         h.completed,
         h.failed,
         case when h.completed + h.failed = 0 then null
              else h.completed::double precision / (h.completed + h.failed) end,
         h.per_minute
  from hour h
  left join counts c on c.queue = h.queue
  order by h.queue
$$;

revoke all on table public.queue_minute_counts from public, anon, authenticated, service_role;
grant select on table public.queue_minute_counts to service_role;
alter table public.queue_minute_counts enable row level security;

select public.job_grant_to_service_role_only(array['public.job_after_finish()', 'public.get_queue_stats()', 'public.get_queue_overview()']);

notify pgrst, 'reload schema';
