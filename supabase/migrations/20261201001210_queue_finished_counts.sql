-- supajobs: get_queue_stats() without reading history. The finished jobs of each queue (completed,
-- failed, cancelled) are counted as they change, once per statement, so that the statistics every
-- worker reads every 30 s (and every /metrics scrape) cost the same with 10,000,000 kept jobs as
-- with none; the live states come from their partial indexes, as in get_queue_overview().

-- Per queue, in 8 shards: a statement adds to its connection's shard (pg_backend_pid() % 8), so
-- concurrent completions of one queue rarely wait for each other's row; readers add the shards up.
-- A shard may go below zero (a job counted in one shard is purged through another); the sum is
-- exact, because every change to jobs changes the counts in the same transaction.
create table public.queue_finished_counts (
  queue     text not null,
  shard     smallint not null check (shard between 0 and 7),
  completed bigint not null default 0,
  failed    bigint not null default 0,
  cancelled bigint not null default 0,
  primary key (queue, shard)
) with (fillfactor = 50);

comment on table public.queue_finished_counts is 'supajobs: finished jobs kept per queue (completed, failed, cancelled), kept by job_count_finished(); get_queue_stats() reads these instead of the jobs.';

revoke all on table public.queue_finished_counts from public, anon, authenticated, service_role;
grant select on table public.queue_finished_counts to service_role;
alter table public.queue_finished_counts enable row level security;

-- Adds finished jobs to the counts (sign 1) or takes them out (sign -1): aligned arrays of each
-- row's queue, status and sign. Ordered by queue: two statements bumping the same rows lock them
-- in the same order.
create function public.job_add_finished_counts(queues text[], statuses text[], signs integer[])
returns void
language sql
volatile
set search_path = ''
as $$
  insert into public.queue_finished_counts as c (queue, shard, completed, failed, cancelled)
  select d.queue, (pg_backend_pid() % 8)::smallint, d.completed, d.failed, d.cancelled
  from (select u.queue,
               coalesce(sum(u.sign) filter (where u.status = 'completed'), 0) as completed,
               coalesce(sum(u.sign) filter (where u.status = 'failed'), 0) as failed,
               coalesce(sum(u.sign) filter (where u.status = 'cancelled'), 0) as cancelled
        from unnest(queues, statuses, signs) as u(queue, status, sign)
        group by u.queue) d
  -- A finished job updated in place (its status unchanged) counts out and in: nothing to write.
  where d.completed <> 0 or d.failed <> 0 or d.cancelled <> 0
  order by d.queue
  on conflict (queue, shard) do update
  set completed = c.completed + excluded.completed,
      failed = c.failed + excluded.failed,
      cancelled = c.cancelled + excluded.cancelled
$$;

-- A statement's change to the counts: its new rows count in, its old rows count out, by their own
-- queue and status (so a row that changes queue, or is inserted or deleted as finished, is
-- counted right), with no join of old and new rows. A statement that touches no finished row
-- (an enqueue, a claim, a heartbeat) reads its rows once and writes nothing.
create function public.job_count_finished()
returns trigger
language plpgsql
-- As owner: the counts are not the writers' to change.
security definer
set search_path = ''
as $$
begin
  -- Each trigger names only the transition tables its event has (a DELETE has no new rows, an
  -- INSERT no old ones), and PL/pgSQL plans a statement when it first runs it: one per event.
  if tg_op = 'INSERT' then
    perform public.job_add_finished_counts(array_agg(n.queue), array_agg(n.status), array_agg(1))
    from new_jobs n where n.status in ('completed', 'failed', 'cancelled')
    having count(*) > 0;
  elsif tg_op = 'UPDATE' then
    perform public.job_add_finished_counts(array_agg(d.queue), array_agg(d.status), array_agg(d.sign))
    from (select n.queue, n.status, 1 as sign from new_jobs n where n.status in ('completed', 'failed', 'cancelled')
          union all
          select o.queue, o.status, -1 from old_jobs o where o.status in ('completed', 'failed', 'cancelled')) d
    having count(*) > 0;
  elsif tg_op = 'DELETE' then
    perform public.job_add_finished_counts(array_agg(o.queue), array_agg(o.status), array_agg(-1))
    from old_jobs o where o.status in ('completed', 'failed', 'cancelled')
    having count(*) > 0;
  else
    delete from public.queue_finished_counts;
  end if;
  return null;
end
$$;

create trigger jobs_count_finished_insert
  after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function public.job_count_finished();

create trigger jobs_count_finished_update
  after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function public.job_count_finished();

create trigger jobs_count_finished_delete
  after delete on public.jobs
  referencing old table as old_jobs
  for each statement execute function public.job_count_finished();

create trigger jobs_count_finished_truncate
  after truncate on public.jobs
  for each statement execute function public.job_count_finished();

-- The jobs kept so far, counted once. The triggers above exist first: creating them waited for
-- the writers of jobs and holds them off until this migration commits, so no change falls between
-- this count and the triggers.
insert into public.queue_finished_counts (queue, shard, completed, failed, cancelled)
select j.queue, 0, count(*) filter (where j.status = 'completed'), count(*) filter (where j.status = 'failed'),
       count(*) filter (where j.status = 'cancelled')
from public.jobs j
where j.status in ('completed', 'failed', 'cancelled')
group by j.queue;

-- The same columns as before. Live states from their partial indexes (pending and scheduled from
-- the claim index, waiting, processing from the lease index), finished ones from the counts; the
-- success rate is of the kept history, as before. A queue with no jobs does not appear.
create or replace function public.get_queue_stats()
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
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
  with live as (
    select j.queue,
           count(*) filter (where j.run_at <= now()) as pending,
           count(*) filter (where j.run_at > now()) as scheduled,
           0::bigint as waiting, 0::bigint as processing,
           0::bigint as completed, 0::bigint as failed, 0::bigint as cancelled,
           min(j.run_at) filter (where j.run_at <= now()) as oldest
    from public.jobs j where j.status = 'pending' group by j.queue
    union all
    select j.queue, 0, 0, count(*), 0, 0, 0, 0, null from public.jobs j where j.status = 'waiting' group by j.queue
    union all
    select j.queue, 0, 0, 0, count(*), 0, 0, 0, null from public.jobs j where j.status = 'processing' group by j.queue
    union all
    select c.queue, 0, 0, 0, 0, sum(c.completed)::bigint, sum(c.failed)::bigint, sum(c.cancelled)::bigint, null
    from public.queue_finished_counts c group by c.queue
  ),
  counts as (
    select l.queue, sum(l.pending)::bigint as pending, sum(l.scheduled)::bigint as scheduled,
           sum(l.waiting)::bigint as waiting, sum(l.processing)::bigint as processing,
           sum(l.completed)::bigint as completed, sum(l.failed)::bigint as failed,
           sum(l.cancelled)::bigint as cancelled, min(l.oldest) as oldest
    from live l group by l.queue
  )
  select c.queue, c.pending, c.scheduled, c.waiting, c.processing, c.completed, c.failed, c.cancelled,
         extract(epoch from now() - c.oldest)::double precision,
         case when c.completed + c.failed = 0 then null
              else c.completed::double precision / (c.completed + c.failed) end
  from counts c
  where c.pending + c.scheduled + c.waiting + c.processing + c.completed + c.failed + c.cancelled > 0
  order by c.queue
$$;

select public.job_grant_to_service_role_only(array['public.job_count_finished()', 'public.get_queue_stats()']);
-- Only the trigger (as owner) adds to the counts.
revoke all on function public.job_add_finished_counts(text[], text[], integer[]) from public, anon, authenticated, service_role;
