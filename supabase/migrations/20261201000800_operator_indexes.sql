-- supajobs: indexes for every filter of the job listings (list_jobs, the admin API, the CLI), so
-- that each page is read in order from an index whatever the filter: a filter on a rare value no
-- longer walks jobs_created_idx newest first until it has found a page.
--
-- Two full indexes, paid by every insert and every status change (such an update is never HOT):
-- a listing by task or by queue, newest first.
create index jobs_task_idx on public.jobs (task, created_at desc, id desc);
create index jobs_queue_idx on public.jobs (queue, created_at desc, id desc);
-- Partial indexes for the statuses that are a small part of the table, paid only by rows in that
-- status (failed has jobs_failed_idx; completed is most of the table, jobs_created_idx serves it;
-- processing is bounded by the fleet's concurrency and read through jobs_lease_idx). The queue is
-- included so that the overview counts ready, scheduled and waiting jobs from the index alone.
create index jobs_pending_idx on public.jobs (created_at desc, id desc) include (queue, run_at)
  where status = 'pending';
create index jobs_cancelled_idx on public.jobs (created_at desc, id desc)
  where status = 'cancelled';
create index jobs_waiting_idx on public.jobs (created_at desc, id desc) include (queue)
  where status = 'waiting';

-- As before, plus 'waiting' (jobs held until their dependencies completed).
create or replace function public.job_filter_sql(
  status text default null,
  queue text default null,
  task text default null,
  group_key text default null,
  created_after timestamptz default null,
  created_before timestamptz default null
)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  clause text := '';
begin
  perform public.job_check_argument(status is null or status in ('pending', 'processing', 'completed', 'failed', 'cancelled', 'waiting'),
                                    'status must be one of pending, processing, completed, failed, cancelled, waiting');
  perform public.job_check_argument(created_after is null or isfinite(created_after), 'created_after must be a finite timestamp');
  perform public.job_check_argument(created_before is null or isfinite(created_before), 'created_before must be a finite timestamp');
  if status is not null then clause := clause || format(' and j.status = %L', status); end if;
  if queue is not null then clause := clause || format(' and j.queue = %L', queue); end if;
  if task is not null then clause := clause || format(' and j.task = %L', task); end if;
  if group_key is not null then clause := clause || format(' and j.group_key = %L', group_key); end if;
  if created_after is not null then clause := clause || format(' and j.created_at >= %L::timestamptz', created_after); end if;
  if created_before is not null then clause := clause || format(' and j.created_at < %L::timestamptz', created_before); end if;
  return clause;
end
$$;
