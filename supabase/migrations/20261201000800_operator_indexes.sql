-- supajobs: indexes for the filters of the job listings (list_jobs, the admin API, the CLI), so
-- that a filter on a rare value reads its few rows instead of walking jobs_created_idx newest
-- first until it has found a page (a task that is 0.01 % of a million jobs: most of the index),
-- and for the overview's live counts.
--
-- Every insert and every status change (never a HOT update) pays for a full index, so there are
-- two (their cost per job: docs/benchmarks.md, "Admin API on 1,000,000 jobs"):
-- - a task's jobs newest first, read in order whatever the task's share (the rows of a busy task
--   may be anywhere in time);
-- - (queue, task), a plain b-tree on two low-cardinality columns, which deduplication keeps
--   small: a rare queue's rows are read through it and sorted, a common queue's page comes
--   sooner by walking jobs_created_idx; a queue with a task is read through the task's index,
--   and a pair that has no job (a task that lives in another queue) through this one, at once.
-- The statistics tell the planner which queue and task pairs are common and which are rare or
-- absent (by default it takes the columns as independent and would walk for an absent pair).
create index jobs_task_idx on public.jobs (task, created_at desc, id desc);
create index jobs_queue_idx on public.jobs (queue, task);
create statistics jobs_queue_task_stats (mcv) on queue, task from public.jobs;
-- Partial indexes for two statuses that are a small part of the table, paid only by rows in that
-- status (failed has jobs_failed_idx; completed is most of the table, jobs_created_idx serves it;
-- pending and processing are read through the claim and lease indexes or by walking).
create index jobs_cancelled_idx on public.jobs (created_at desc, id desc)
  where status = 'cancelled';
create index jobs_waiting_idx on public.jobs (created_at desc, id desc) include (queue)
  where status = 'waiting';
-- The claim and lease indexes also carry the queue, so that the overview and get_queue_depth()
-- count ready, scheduled and running jobs per queue from the index alone (a few bytes an entry).
create index jobs_claim_idx_with_queue on public.jobs (priority desc, run_at, created_at) include (queue)
  where status = 'pending';
drop index public.jobs_claim_idx;
alter index public.jobs_claim_idx_with_queue rename to jobs_claim_idx;
create index jobs_lease_idx_with_queue on public.jobs (lease_expires_at) include (queue)
  where status = 'processing';
drop index public.jobs_lease_idx;
alter index public.jobs_lease_idx_with_queue rename to jobs_lease_idx;

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
