-- supajobs: a claim commits without waiting for its WAL to reach the disk.
--
-- The wait for the flush is on the path from a ready job to its handler (pick-up), once per
-- claim. Leaving it out loses nothing a job needs:
--   - a claim that a crash of the server loses leaves its jobs pending, as if never claimed: they
--     are claimed again after the restart. A worker that ran one meanwhile is refused its
--     completion (the job is not held), and the job runs again, as after a worker's crash: at
--     least once, as always;
--   - a completion, a failure and an enqueue still wait for their flush, and WAL is written in
--     order, so once a job's completion is durable its claim is too;
--   - a commit without the wait is still atomic and at once visible to every other session.
-- Set with is_local, so it lasts to the end of the claim's transaction. A caller that claims
-- inside a transaction of its own and writes after the claim gets the same for those writes:
-- claim in a transaction of its own (as the worker does) when they matter.
--
-- As in 20261123000300_queue_functions.sql, with the setting at the top (job_claim_controlled
-- runs inside claim_jobs, and claim_next_job calls it, so every claim path has it).

create or replace function public.claim_jobs(
  worker_id text,
  queues text[] default null,
  batch_size integer default 1,
  lease_seconds integer default 60
)
returns setof public.jobs
language plpgsql
volatile
set search_path = ''
as $$
declare
  controlled text[];
begin
  -- Only for a claim that is its transaction's first write, as the worker's are: a caller's
  -- own earlier writes keep the durability they asked for.
  if pg_current_xact_id_if_assigned() is null then
    perform set_config('synchronous_commit', 'off', true);
  end if;
  perform public.job_check_argument(length(worker_id) between 1 and 200, 'worker_id must be 1 to 200 characters');
  perform public.job_check_argument(batch_size between 1 and 1000, 'batch_size must be between 1 and 1000');
  perform public.job_check_argument(lease_seconds between 1 and 86400, 'lease_seconds must be between 1 and 86400');
  controlled := public.job_controlled_queues();
  if controlled is not null
     or exists (select 1 from public.jobs k where k.status = 'pending' and k.concurrency_key is not null and k.run_at <= now()) then
    return query select * from public.job_claim_controlled(claim_jobs.worker_id, claim_jobs.queues, claim_jobs.batch_size,
                                                           claim_jobs.lease_seconds, controlled);
    return;
  end if;
  -- History: the update trigger records every claim (no writer can tell it to stand aside).
  return query
  with claimed as (
    update public.jobs j
    set status = 'processing',
        attempts = j.attempts + 1,
        locked_by = claim_jobs.worker_id,
        lease_expires_at = now() + make_interval(secs => claim_jobs.lease_seconds),
        started_at = now(),
        updated_at = now()
    -- An array of ids, not a join: the plan (cached, generic) then reads the rows through the
    -- primary key, where a join may hash the whole table, completed jobs and all.
    where j.id = any (array(
      select n.id
      from public.jobs n
      where n.status = 'pending'
        and n.run_at <= now()
        and (claim_jobs.queues is null or n.queue = any (claim_jobs.queues))
        -- A keyed job that became ready since the check above waits for the next claim.
        and n.concurrency_key is null
      order by n.priority desc, n.run_at, n.created_at
      limit claim_jobs.batch_size
      for update skip locked
    ))
    returning j.*
  )
  select * from claimed c order by c.priority desc, c.run_at, c.created_at;
end
$$;

notify pgrst, 'reload schema';
