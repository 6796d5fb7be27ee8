-- supajobs: indexes for the filters of the job listings (list_jobs, the admin API, the CLI), so
-- that a filter on a rare value reads its few rows instead of walking jobs_created_idx newest
-- first until it has found a page (a task that is 0.01 % of a million jobs: most of the index).
--
-- Every insert and every status change (never a HOT update) pays for a full index, so these two
-- are plain b-trees on low-cardinality columns: PostgreSQL's deduplication keeps their entries
-- small, about half the cost of one on (task, created_at, id) (bench: WAL per enqueued job 679 B
-- without them, 805 B with both; 1,064 B for (task, created_at, id), (queue, created_at, id) and a
-- pending listing index). A rare value's rows are read through them and sorted (few rows); a
-- common value's page comes sooner by walking jobs_created_idx, and the planner picks either.
-- (queue, task) serves a queue, and a queue with a task exactly: a pair that has no job (a task
-- that lives in another queue) is answered at once, not by walking the table.
create index jobs_task_idx on public.jobs (task);
create index jobs_queue_idx on public.jobs (queue, task);
-- Partial indexes for two statuses that are a small part of the table, paid only by rows in that
-- status (failed has jobs_failed_idx; completed is most of the table, jobs_created_idx serves it;
-- pending and processing are read through the claim and lease indexes). The queue is included so
-- that the overview counts waiting jobs from the index alone.
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
