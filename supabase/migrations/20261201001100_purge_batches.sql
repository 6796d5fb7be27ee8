-- supajobs: purging in short batches. One statement that deletes a month of finished jobs holds
-- its row locks, its WAL and the I/O of the whole table until it commits, and the queue's own
-- work waits behind it. purge_jobs now also takes batch_size: it deletes at most that many of the
-- oldest matching jobs (and their history) through an index, so each call is short; callers
-- (QueueClient.purge, the CLI, the worker's retention) call it again, with a pause between calls,
-- until a call removes fewer than batch_size.

-- The finished jobs by status and last change: a batch is a range at the start of one status.
-- Partial: pending and processing rows, which change most, have no entry. Completing a job is
-- never a HOT update (its status moves it between partial indexes), so the entry costs one index
-- insert per finished job and nothing on the claim path. Building it blocks writes to jobs while
-- it reads the table; on a very large table build it first with CREATE INDEX CONCURRENTLY (same
-- name and definition) and this migration leaves it be (docs/operations.md, upgrading).
create index if not exists jobs_finished_idx on public.jobs (status, updated_at)
  where status in ('completed', 'failed', 'cancelled');

drop function public.purge_jobs(interval, text[]);

-- Delete finished jobs (by default completed and cancelled; name 'failed' to drop dead letters
-- too) last changed before now() - older_than, with their history. Without batch_size: every one
-- of them, in this statement. With batch_size: at most that many, the oldest of each status in
-- the order given; and only while no other batch runs anywhere (a transaction-scoped advisory
-- lock): when one does, returns null at once, so that batched purgers take turns instead of
-- adding up. Returns how many jobs it deleted.
-- SECURITY DEFINER: its callers (service_role) may not delete job_events themselves; this is the
-- one way history goes (see job_events_guard).
create function public.purge_jobs(
  older_than interval,
  statuses text[] default array['completed', 'cancelled'],
  batch_size integer default null
)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  cutoff timestamptz := now() - older_than;
  purged integer := 0;
  picked uuid[];
  gone uuid[];
  each_status text;
begin
  perform public.job_check_argument(older_than >= interval '0', 'older_than must not be negative');
  perform public.job_check_argument(statuses <@ array['completed', 'failed', 'cancelled'],
                                    'statuses may name only completed, failed and cancelled');
  perform public.job_check_argument(batch_size is null or batch_size >= 1, 'batch_size must be at least 1');
  if batch_size is not null and not pg_try_advisory_xact_lock(hashtextextended('supajobs.purge_jobs', 0)) then
    return null;
  end if;
  -- The one way history goes: see job_events_guard.
  insert into supajobs.history_purges (xact) values (pg_current_xact_id());
  foreach each_status in array statuses loop
    -- A null batch_size is no limit (LIMIT NULL), and never ends the loop early.
    exit when purged >= batch_size;
    select coalesce(array_agg(oldest.id), '{}') into picked
    from (
      select j.id
      from public.jobs j
      -- The literal IN lets the planner use jobs_finished_idx (its predicate) in a generic plan too.
      where j.status = each_status
        and j.status in ('completed', 'failed', 'cancelled')
        and j.updated_at < cutoff
      order by j.updated_at
      limit batch_size - purged
    ) oldest;
    -- No row locks taken first (each would be one more WAL record per job): a job changed since it
    -- was picked (retried, or purged by another transaction) is waited for and then checked again
    -- here, and left alone when it no longer matches.
    with deleted as (
      delete from public.jobs j
      where j.id = any (picked) and j.status = each_status and j.updated_at < cutoff
      returning j.id
    )
    select coalesce(array_agg(deleted.id), '{}') into gone from deleted;
    -- By id list, not a join: a join may be planned as a scan of the whole history table.
    delete from public.job_events e where e.job_id = any (gone);
    purged := purged + cardinality(gone);
  end loop;
  delete from supajobs.history_purges p where p.xact = pg_current_xact_id();
  return purged;
end
$$;

select public.job_grant_to_service_role_only(array['public.purge_jobs(interval, text[], integer)']);

notify pgrst, 'reload schema';
