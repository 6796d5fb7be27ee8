-- supajobs: waiting for a job to finish (QueueClient.waitForJob, `supajobs wait`) without polling.
-- A waiter registers with watch_job(); when the job completes, fails or is cancelled, the
-- statement that did it sends one NOTIFY on channel 'supajobs_finished' naming the job
-- (job_after_finish, in the next migration). Jobs nobody waits for cost that trigger one look at
-- an empty table: no NOTIFY, so listeners are not woken by every completion of the fleet.

create table public.job_waiters (
  job_id uuid not null,
  waiter bigint generated always as identity,
  primary key (job_id, waiter)
);

comment on table public.job_waiters is 'supajobs: jobs someone waits for (watch_job); the finishing statement notifies and removes them.';

-- Registers a waiter for the job and returns its number (for unwatch_job), or null when the job
-- does not exist or has already finished. The row lock orders it with a change of the job under
-- way: such a change commits first (and the status read here shows its end), or it waits for this
-- call to commit and then finds the waiter. So after a non-null answer, the job's end is notified.
create function public.watch_job(id uuid)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  current_status text;
  waiter bigint;
begin
  select j.status into current_status from public.jobs j where j.id = watch_job.id for share;
  if current_status is null or current_status in ('completed', 'failed', 'cancelled') then
    return null;
  end if;
  insert into public.job_waiters (job_id) values (watch_job.id) returning job_waiters.waiter into waiter;
  return waiter;
end
$$;

-- A waiter that gave up (timed out, aborted) before the job finished. A waiter whose process died
-- leaves its row until the job finishes.
create function public.unwatch_job(id uuid, waiter bigint)
returns void
language sql
volatile
set search_path = ''
as $$
  delete from public.job_waiters w where w.job_id = unwatch_job.id and w.waiter = unwatch_job.waiter
$$;

revoke all on table public.job_waiters from public, anon, authenticated, service_role;
-- Its identity draws from it without any right on it.
revoke all on sequence public.job_waiters_waiter_seq from public, anon, authenticated, service_role;
grant select, insert, delete on table public.job_waiters to service_role;
alter table public.job_waiters enable row level security;

select public.job_grant_to_service_role_only(array['public.watch_job(uuid)', 'public.unwatch_job(uuid, bigint)']);

notify pgrst, 'reload schema';
