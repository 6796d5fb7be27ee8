create or replace function public.job_after_insert()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at)) from new_jobs n where n.status = 'pending';
  return null;
end $$;
create or replace function public.job_after_update()
returns trigger language plpgsql security definer set search_path = '' as $$
declare actor text := public.job_actor();
begin
  insert into public.job_events
    (job_id, user_id, queue, task, event, from_status, to_status, stage, attempt, worker_id, actor, error_code, message)
  select n.id, n.user_id, n.queue, n.task,
         case when n.status is distinct from o.status then n.status else 'stage' end,
         o.status, n.status, n.stage, n.attempts, coalesce(n.locked_by, o.locked_by), actor,
         case when o.status = 'processing' and n.status in ('pending', 'failed') then n.error_code end,
         case when o.status = 'processing' and n.status in ('pending', 'failed') then n.last_error end
  from new_jobs n join old_jobs o on o.id = n.id
  where (n.status is distinct from o.status or n.stage is distinct from o.stage)
    and not (n.stage is not distinct from o.stage and ((o.status = 'pending' and n.status = 'processing') or (o.status = 'processing' and n.status = 'completed')));
  perform public.job_notify_ready(array_agg(n.queue), array_agg(n.run_at))
  from new_jobs n join old_jobs o on o.id = n.id where n.status = 'pending' and o.status <> 'pending';
  return null;
end $$;
