-- supajobs: who may do what.
--
-- Worker functions: service_role only (and the owner). Supabase's default privileges give anon,
-- authenticated and service_role ALL on every new table, sequence and function in public, so
-- everything is revoked from all three first and granted back narrowly. End users reach their own
-- jobs only through RLS.

revoke all on table public.jobs, public.job_events, public.job_priority_tiers,
                    public.job_user_tiers, public.job_client_tasks
  from public, anon, authenticated, service_role;
-- job_events' identity: only the history functions (as owner) draw from it.
revoke all on sequence public.job_events_id_seq from public, anon, authenticated, service_role;

grant select, insert, update, delete on table public.jobs to service_role;
grant select on table public.job_events to service_role;
grant select, insert, update, delete on table public.job_priority_tiers, public.job_user_tiers,
                                             public.job_client_tasks to service_role;

-- End users: insert a job naming only these columns (the insert trigger sets the rest), and read
-- their jobs and history without what is the service's: which worker holds a job, its lease, and
-- raw error text (last_error, job_events.message), which may name internal hosts. They see
-- error_code and public_error, the message a handler chose for them. Column grants also bound
-- what Realtime sends an owner following their jobs.
grant insert (task, payload, run_at, job_key, group_key) on table public.jobs to authenticated;
grant select (id, task, queue, payload, status, priority, run_at, attempts, max_attempts,
              backoff_base_seconds, backoff_max_seconds, job_key, stage, progress, result,
              error_code, public_error, user_id, from_user, group_key, created_at, started_at, completed_at,
              failed_at, updated_at)
  on table public.jobs to authenticated;
grant select (id, job_id, user_id, queue, task, event, from_status, to_status, stage, attempt,
              actor, error_code, created_at)
  on table public.job_events to authenticated;
grant select on table public.job_priority_tiers to authenticated;

alter table public.jobs enable row level security;
alter table public.job_events enable row level security;
alter table public.job_priority_tiers enable row level security;
alter table public.job_user_tiers enable row level security;
alter table public.job_client_tasks enable row level security;

create policy jobs_select_own on public.jobs
  for select to authenticated
  using (user_id = (select auth.uid()));

create policy jobs_insert_own on public.jobs
  for insert to authenticated
  with check (user_id = (select auth.uid()) and status = 'pending' and attempts = 0);

create policy job_events_select_own on public.job_events
  for select to authenticated
  using (user_id = (select auth.uid()));

create policy job_priority_tiers_read on public.job_priority_tiers
  for select to authenticated
  using (true);

-- Worker and operator functions are executable by service_role only: everything revoked, execute
-- granted back. Each later migration passes its own functions here. Only the migration runner (the
-- owner) may call it.
create function public.job_grant_to_service_role_only(functions text[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  fn text;
begin
  foreach fn in array functions loop
    execute format('revoke all on function %s from public, anon, authenticated, service_role', fn);
    execute format('grant execute on function %s to service_role', fn);
  end loop;
end
$$;
revoke all on function public.job_grant_to_service_role_only(text[]) from public, anon, authenticated, service_role;

select public.job_grant_to_service_role_only(array[
  'public.job_backoff_delay(integer, double precision, double precision)',
  'public.job_check_argument(boolean, text)',
  'public.job_lease_held(text, text, integer, text, integer)',
  'public.job_input_rows(jsonb)',
  'public.job_notify_ready(text[], timestamptz[])',
  'public.job_actor()',
  'public.job_after_insert()',
  'public.job_after_update()',
  'public.job_events_guard()',
  'public.job_id_guard()',
  'public.job_before_user_insert()',
  'public.job_check_user_live_jobs()',
  'public.enqueue_job(text, jsonb, text, integer, timestamptz, integer, text, uuid, double precision, double precision, text, integer, text, text)',
  'public.enqueue_jobs(jsonb)',
  'public.claim_jobs(text, text[], integer, integer)',
  'public.claim_next_job(text, text[], integer)',
  'public.heartbeat_jobs(text, uuid[], integer)',
  'public.complete_job(uuid, text, jsonb, integer)',
  'public.complete_jobs(text, uuid[], jsonb, integer[])',
  'public.fail_job(uuid, text, text, text, boolean, integer, text, double precision)',
  'public.release_jobs(text, uuid[], text)',
  'public.update_job_progress(uuid, text, text, jsonb, integer)',
  'public.reclaim_expired_jobs()',
  'public.get_queue_stats()',
  'public.retry_job(uuid)',
  'public.retry_failed_jobs(text)',
  'public.cancel_job(uuid)',
  'public.purge_jobs(interval, text[])'
]);

revoke all on function public.cancel_my_job(uuid) from public, anon, authenticated, service_role;
grant execute on function public.cancel_my_job(uuid) to authenticated, service_role;

-- PostgREST caches the schema: have it reload so the functions are callable at once.
notify pgrst, 'reload schema';
