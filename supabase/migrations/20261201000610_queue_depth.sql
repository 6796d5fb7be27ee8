-- supajobs: the number an autoscaler scales on (KEDA's postgresql trigger, deploy/kubernetes/keda):
-- jobs ready to run plus jobs running, optionally for some queues only. Each half is read through
-- its partial index (pending: jobs_claim_idx, processing: jobs_lease_idx), so the cost follows the
-- live jobs, never the kept history. SECURITY DEFINER: a scaler's role needs EXECUTE on this
-- function only, no access to the table (docs/scaling.md).
create function public.get_queue_depth(queues text[] default null)
returns bigint
language sql
stable
security definer
set search_path = ''
as $$
  select (select count(*) from public.jobs j
          where j.status = 'pending' and j.run_at <= now() and (queues is null or j.queue = any (queues)))
       + (select count(*) from public.jobs j
          where j.status = 'processing' and (queues is null or j.queue = any (queues)))
$$;

select public.job_grant_to_service_role_only(array['public.get_queue_depth(text[])']);
