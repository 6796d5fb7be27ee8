-- supajobs: a retried dead letter resumes from the stage it was in.
--
-- A dead letter moves a job of a task with declared stages to its failure (or timeout) stage.
-- An operator's retry (retry_job, retry_jobs, retry_failed_jobs, or any writer setting a failed
-- or cancelled job back to pending) used to leave it there, so the next attempt's first
-- ctx.transition was refused (a move out of a terminal stage is not declared). The dead letter
-- now remembers where the job was, and the retry puts it back.

-- The stage a dead letter moved the job away from (its initial stage when it had none); set only
-- while the job sits in the terminal stage that move put it in.
alter table public.jobs add column stage_before_dead_letter text;

comment on column public.jobs.stage_before_dead_letter is
  'supajobs: the stage a dead letter moved the job from, restored when the job is retried.';

-- As in 20261201000400_workflows.sql, and remembers the stage it leaves.
create or replace function public.job_before_dead_letter()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  g public.job_stage_graphs;
  terminal text;
begin
  select * into g from public.job_stage_graphs s where s.task = new.task;
  if not found then
    return new;
  end if;
  terminal := case when new.error_code in ('TIMEOUT', 'LEASE_EXPIRED') then coalesce(g.timeout_stage, g.failure_stage)
                   else g.failure_stage end;
  if terminal is not null and new.stage is distinct from terminal then
    -- Never null, so that "nothing to restore" (null) and "was in the initial stage" differ.
    new.stage_before_dead_letter := coalesce(new.stage, g.initial_stage);
    new.stage := terminal;
    new.version := old.version + 1;
  end if;
  return new;
end
$$;

-- A retry (failed or cancelled back to pending) of a job a dead letter moved: back to the stage
-- it was moved from, one version on, so that its steps and transitions resume. A writer that
-- names a stage in the same statement keeps its own (checked by jobs_before_stage_change).
create function public.job_before_retry_restore_stage()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.stage is not distinct from old.stage then
    new.stage := old.stage_before_dead_letter;
    new.version := old.version + 1;
  end if;
  new.stage_before_dead_letter := null;
  return new;
end
$$;

-- The WHEN clause keeps every other change free: only a job a dead letter moved has the column set.
create trigger jobs_before_retry_restore_stage
  before update of status on public.jobs
  for each row
  when (old.stage_before_dead_letter is not null and old.status in ('failed', 'cancelled') and new.status = 'pending')
  execute function public.job_before_retry_restore_stage();

select public.job_grant_to_service_role_only(array[
  'public.job_before_dead_letter()',
  'public.job_before_retry_restore_stage()'
]);

notify pgrst, 'reload schema';
