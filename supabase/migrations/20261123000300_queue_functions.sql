-- supajobs: the queue functions. Both transports (supabase-js RPC and pg) call exactly these,
-- with named arguments; every function that writes is VOLATILE (PostgREST runs the others
-- read-only). Invalid arguments raise SQLSTATE 22023 (invalid_parameter_value) naming the argument.

-- Job retry backoff: the delay after a failed attempt (the worker's reconnect backoff is
-- src/reconnect-backoff.ts, a different thing). Exponential (base * 2^(attempt-1)), capped, with "equal
-- jitter" (half fixed, half random) so that jobs failing together do not retry together.
-- Defaults: base 2 s, cap 1 hour.
create function public.job_backoff_delay(attempt integer, base_seconds double precision default null, max_seconds double precision default null)
returns interval
language sql
volatile
set search_path = ''
as $$
  with d as (
    select least(coalesce(max_seconds, 3600),
                 coalesce(base_seconds, 2) * power(2::double precision, least(greatest(attempt, 1) - 1, 60))) as seconds
  )
  select make_interval(secs => d.seconds / 2 + random() * d.seconds / 2) from d
$$;

create function public.job_check_argument(ok boolean, message text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if ok is not true then
    raise exception '%', message using errcode = '22023';
  end if;
end
$$;

-- Enqueue one job; with a job_key that matches a pending or processing job of the same owner,
-- returns that job's id instead of adding one.
create function public.enqueue_job(
  task text,
  payload jsonb default '{}'::jsonb,
  queue text default 'default',
  priority integer default 0,
  run_at timestamptz default null,
  max_attempts integer default 5,
  job_key text default null,
  user_id uuid default null,
  backoff_base_seconds double precision default null,
  backoff_max_seconds double precision default null,
  concurrency_key text default null,
  concurrency_limit integer default null,
  group_key text default null,
  traceparent text default null
)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  return (select e.id from public.enqueue_jobs(jsonb_build_array(jsonb_build_object(
    'task', task, 'payload', payload, 'queue', queue, 'priority', priority,
    'run_at', run_at, 'max_attempts', max_attempts, 'job_key', job_key, 'user_id', user_id,
    'backoff_base_seconds', backoff_base_seconds, 'backoff_max_seconds', backoff_max_seconds,
    'concurrency_key', concurrency_key, 'concurrency_limit', concurrency_limit,
    'group_key', group_key,
    'traceparent', traceparent))) e);
end
$$;

-- enqueue_jobs' elements (already checked) as typed rows, each with its position and a new id.
create function public.job_input_rows(jobs jsonb)
returns table (
  ord bigint, new_id uuid, task text, payload jsonb, queue text, priority integer, run_at timestamptz,
  max_attempts integer, job_key text, user_id uuid, backoff_base_seconds double precision,
  backoff_max_seconds double precision, concurrency_key text, concurrency_limit integer, group_key text, traceparent text
)
language sql
volatile
set search_path = ''
as $$
  select e.ord,
         gen_random_uuid(),
         e.j ->> 'task',
         coalesce(nullif(e.j -> 'payload', 'null'::jsonb), '{}'::jsonb),
         coalesce(e.j ->> 'queue', 'default'),
         coalesce((e.j ->> 'priority')::integer, 0),
         coalesce((e.j ->> 'run_at')::timestamptz, now()),
         coalesce((e.j ->> 'max_attempts')::integer, 5),
         e.j ->> 'job_key',
         (e.j ->> 'user_id')::uuid,
         (e.j ->> 'backoff_base_seconds')::double precision,
         (e.j ->> 'backoff_max_seconds')::double precision,
         e.j ->> 'concurrency_key',
         coalesce((e.j ->> 'concurrency_limit')::integer, 1),
         e.j ->> 'group_key',
         e.j ->> 'traceparent'
  from jsonb_array_elements(jobs) with ordinality as e(j, ord)
$$;

-- Enqueue many jobs in one statement from a JSON array of objects with the keys of enqueue_job
-- (task required). Returns one id per element, in input order (elements sharing a live job_key
-- get the same id); keys are locked in (job_key, user_id) order, so concurrent batches do not
-- deadlock one another.
create function public.enqueue_jobs(jobs jsonb)
returns table (id uuid)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  bad record;
begin
  perform public.job_check_argument(jsonb_typeof(jobs) = 'array', 'jobs must be a JSON array of job objects');

  -- Every value is checked here, so that a bad one is a 22023 naming it rather than a cast error
  -- or a table constraint. A CASE, because only its branches surely run in order: a cast is
  -- reached only once the branch before it proved the type.
  -- run_at and user_id strings are left to their casts (PostgreSQL 15 has no pg_input_is_valid).
  select e.ord, p.problem into bad
  from jsonb_array_elements(jobs) with ordinality as e(j, ord)
  cross join lateral (select case
    when jsonb_typeof(e.j) <> 'object' then 'must be a JSON object'
    when jsonb_typeof(e.j -> 'task') is distinct from 'string' or length(e.j ->> 'task') not between 1 and 200
      then '"task" must be a string of 1 to 200 characters'
    when e.j - array['task', 'payload', 'queue', 'priority', 'run_at', 'max_attempts',
                     'job_key', 'user_id', 'backoff_base_seconds', 'backoff_max_seconds',
                     'concurrency_key', 'concurrency_limit', 'group_key', 'traceparent'] <> '{}'::jsonb
      then 'the only keys are task, payload, queue, priority, run_at, max_attempts, job_key, user_id, backoff_base_seconds, backoff_max_seconds, concurrency_key, concurrency_limit, group_key, traceparent'
    when jsonb_typeof(e.j -> 'queue') <> all (array['null', 'string']) or length(e.j ->> 'queue') not between 1 and 200
      then '"queue" must be a string of 1 to 200 characters'
    when jsonb_typeof(e.j -> 'priority') <> all (array['null', 'number']) then '"priority" must be a number'
    when (e.j ->> 'priority')::numeric not between -1000 and 1000 or (e.j ->> 'priority')::numeric % 1 <> 0
      then '"priority" must be an integer between -1000 and 1000'
    when jsonb_typeof(e.j -> 'max_attempts') <> all (array['null', 'number']) then '"max_attempts" must be a number'
    when (e.j ->> 'max_attempts')::numeric not between 1 and 1000 or (e.j ->> 'max_attempts')::numeric % 1 <> 0
      then '"max_attempts" must be an integer between 1 and 1000'
    when jsonb_typeof(e.j -> 'job_key') <> all (array['null', 'string']) or length(e.j ->> 'job_key') not between 1 and 512
      then '"job_key" must be a string of 1 to 512 characters'
    when jsonb_typeof(e.j -> 'group_key') <> all (array['null', 'string']) or length(e.j ->> 'group_key') not between 1 and 200
      then '"group_key" must be a string of 1 to 200 characters'
    when jsonb_typeof(e.j -> 'run_at') <> all (array['null', 'string']) then '"run_at" must be a timestamp string'
    -- A string naming infinity is either infinite or unreadable: refused here either way.
    when e.j ->> 'run_at' ilike '%infinity%' then '"run_at" must be a finite timestamp'
    when (e.j ->> 'run_at')::timestamptz not between '2000-01-01 00:00:00+00' and '9999-12-31 23:59:59+00'
      then '"run_at" must be between 2000-01-01 and 9999-12-31'
    when jsonb_typeof(e.j -> 'user_id') <> all (array['null', 'string']) then '"user_id" must be a uuid string'
    when jsonb_typeof(e.j -> 'backoff_base_seconds') <> all (array['null', 'number']) then '"backoff_base_seconds" must be a number'
    when (e.j ->> 'backoff_base_seconds')::numeric not between 0 and 31536000
      then '"backoff_base_seconds" must be between 0 and 31536000 seconds'
    when jsonb_typeof(e.j -> 'backoff_max_seconds') <> all (array['null', 'number']) then '"backoff_max_seconds" must be a number'
    when (e.j ->> 'backoff_max_seconds')::numeric not between 0 and 31536000
      then '"backoff_max_seconds" must be between 0 and 31536000 seconds'
    when jsonb_typeof(e.j -> 'concurrency_key') <> all (array['null', 'string']) or length(e.j ->> 'concurrency_key') not between 1 and 512
      then '"concurrency_key" must be a string of 1 to 512 characters'
    when jsonb_typeof(e.j -> 'concurrency_limit') <> all (array['null', 'number']) then '"concurrency_limit" must be a number'
    when (e.j ->> 'concurrency_limit')::numeric not between 1 and 10000 or (e.j ->> 'concurrency_limit')::numeric % 1 <> 0
      then '"concurrency_limit" must be an integer between 1 and 10000'
    when jsonb_typeof(e.j -> 'traceparent') <> all (array['null', 'string'])
      or e.j ->> 'traceparent' !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
      then '"traceparent" must be a W3C traceparent (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)'
  end as problem) p
  where p.problem is not null
  limit 1;
  if found then
    raise exception 'jobs[%]: %', bad.ord - 1, bad.problem using errcode = '22023';
  end if;

  -- Without a job_key there is nothing to deduplicate: a plain insert (ON CONFLICT would also
  -- fire the update triggers, and sort and join the batch).
  if not exists (select 1 from jsonb_array_elements(jobs) e(j) where e.j ->> 'job_key' is not null) then
    return query
    with input as (
      select * from public.job_input_rows(jobs)
    ),
    inserted as (
      insert into public.jobs (id, task, payload, queue, priority, run_at, max_attempts, user_id,
                               backoff_base_seconds, backoff_max_seconds, concurrency_key, concurrency_limit, group_key, traceparent)
      select i.new_id, i.task, i.payload, i.queue, i.priority, i.run_at, i.max_attempts, i.user_id,
             i.backoff_base_seconds, i.backoff_max_seconds, i.concurrency_key, i.concurrency_limit, i.group_key, i.traceparent
      from input i
      order by i.ord
    )
    select i.new_id from input i order by i.ord;
    return;
  end if;

  return query
  with input as (
    select * from public.job_input_rows(jobs)
  ),
  -- One row per live key: the first element holding it.
  to_insert as (
    select distinct on (coalesce(i.job_key, i.new_id::text), i.task, i.user_id) i.*
    from input i
    order by coalesce(i.job_key, i.new_id::text), i.task, i.user_id, i.ord
  ),
  inserted as (
    insert into public.jobs as j (id, task, payload, queue, priority, run_at, max_attempts, job_key,
                                  user_id, backoff_base_seconds, backoff_max_seconds, concurrency_key,
                                  concurrency_limit, group_key, traceparent)
    select t.new_id, t.task, t.payload, t.queue, t.priority, t.run_at, t.max_attempts, t.job_key,
           t.user_id, t.backoff_base_seconds, t.backoff_max_seconds, t.concurrency_key, t.concurrency_limit, t.group_key, t.traceparent
    from to_insert t
    -- Keys are inserted (and live jobs holding them locked) in one canonical order, whatever the
    -- caller's: two batches sharing keys in different orders would otherwise deadlock (40P01).
    order by t.job_key, t.task, t.user_id, t.ord
    -- A live job of this task with this key exists: touch nothing, but lock it and return its id.
    -- Only the service's own jobs count (from_user false): an end user's job never takes a key
    -- the service will use.
    on conflict (job_key, task, user_id, from_user) where job_key is not null and status in ('pending', 'processing')
    do update set job_key = excluded.job_key
    returning j.id, j.job_key, j.task, j.user_id
  )
  select coalesce(k.id, i.new_id)
  from input i
  left join inserted k
    on i.job_key is not null and k.job_key = i.job_key and k.task = i.task
       and k.user_id is not distinct from i.user_id
  order by i.ord;
end
$$;

-- Claim up to batch_size ready jobs for worker_id: pending, run_at reached, optionally only the
-- given queues; highest priority first, then oldest run_at. Rows other workers hold are skipped.
-- Paused queues, queue limits and concurrency keys (20261201000500_flow_control.sql) are honoured
-- by job_claim_controlled; a claim when none is in play pays one read of the small job_queues
-- table and one probe of an empty partial index.
create function public.claim_jobs(
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

create function public.claim_next_job(
  worker_id text,
  queues text[] default null,
  lease_seconds integer default 60
)
returns setof public.jobs
language sql
volatile
set search_path = ''
as $$
  select * from public.claim_jobs(claim_next_job.worker_id, claim_next_job.queues, 1, claim_next_job.lease_seconds)
$$;

-- The fence of every worker write: the job is processing, held by worker_id and, when attempt is
-- given, on that attempt. A stale worker's call (its lease expired and the job was reclaimed or
-- claimed again) matches nothing.
create function public.job_lease_held(status text, locked_by text, attempts integer, worker_id text, attempt integer)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select status = 'processing' and locked_by = worker_id and (attempt is null or attempts = attempt)
$$;

-- Extend the leases worker_id still holds; returns the ids it still holds (a missing id was
-- reclaimed, cancelled or finished: its handler should stop).
create function public.heartbeat_jobs(worker_id text, ids uuid[], lease_seconds integer default 60)
returns setof uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(lease_seconds between 1 and 86400, 'lease_seconds must be between 1 and 86400');
  return query
  update public.jobs j
  set lease_expires_at = now() + make_interval(secs => heartbeat_jobs.lease_seconds)
  where j.id = any (heartbeat_jobs.ids)
    and public.job_lease_held(j.status, j.locked_by, j.attempts, heartbeat_jobs.worker_id, null)
  returning j.id;
end
$$;

-- Record successes: results (a JSON array aligned with ids, or null) and attempts (aligned with
-- ids, or null) are optional. Returns the ids that were completed. complete_job is its one-row form.
create function public.complete_jobs(worker_id text, ids uuid[], results jsonb default null, attempts integer[] default null)
returns setof uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(results is null or jsonb_typeof(results) = 'array', 'results must be a JSON array aligned with ids');
  return query
  with done as (
    update public.jobs j
    set status = 'completed',
        result = case when complete_jobs.results is null then null
                      else nullif(complete_jobs.results -> (d.ord::integer - 1), 'null'::jsonb) end,
        lease_expires_at = null,
        completed_at = now(),
        updated_at = now()
    from unnest(complete_jobs.ids) with ordinality as d(id, ord)
    -- Also as an array: the rows are then read through the primary key (see claim_jobs).
    where j.id = any (complete_jobs.ids)
      and j.id = d.id
      and public.job_lease_held(j.status, j.locked_by, j.attempts, complete_jobs.worker_id, complete_jobs.attempts[d.ord])
    returning j.id
  )
  select d.id from done d;
end
$$;

-- Record success: the one-row form of complete_jobs (above), where the fencing lives. Applies only
-- while worker_id holds the job (and, when given, on that attempt): a stale worker's call changes
-- nothing and returns false.
create function public.complete_job(id uuid, worker_id text, result jsonb default null, attempt integer default null)
returns boolean
language sql
volatile
set search_path = ''
as $$
  select exists (
    select 1
    from public.complete_jobs(complete_job.worker_id, array[complete_job.id],
                              jsonb_build_array(complete_job.result), array[complete_job.attempt])
  )
$$;

-- Record a failed attempt. Retryable with attempts left: back to pending, run_at moved by
-- retry_delay_seconds when given (the task's own retry policy, or a Retry-After), else by
-- job_backoff_delay. Otherwise: failed (the dead-letter state). Returns the new status, or null
-- when worker_id no longer held the job (nothing changed).
create function public.fail_job(
  id uuid,
  worker_id text,
  error_code text,
  error_message text default null,
  retryable boolean default true,
  attempt integer default null,
  public_error text default null,
  retry_delay_seconds double precision default null
)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  new_status text;
begin
  perform public.job_check_argument(length(error_code) between 1 and 200, 'error_code must be 1 to 200 characters');
  perform public.job_check_argument(retry_delay_seconds is null or retry_delay_seconds between 0 and 31536000,
                                    'retry_delay_seconds must be between 0 and 31536000');
  update public.jobs j
  set status = case when fail_job.retryable and j.attempts < j.max_attempts then 'pending' else 'failed' end,
      run_at = case when fail_job.retryable and j.attempts < j.max_attempts
                    then now() + coalesce(make_interval(secs => fail_job.retry_delay_seconds),
                                          public.job_backoff_delay(j.attempts, j.backoff_base_seconds, j.backoff_max_seconds))
                    else j.run_at end,
      failed_at = case when fail_job.retryable and j.attempts < j.max_attempts then null else now() end,
      error_code = fail_job.error_code,
      last_error = left(fail_job.error_message, 10000),
      public_error = left(fail_job.public_error, 1000),
      locked_by = null,
      lease_expires_at = null,
      updated_at = now()
  where j.id = fail_job.id
    and public.job_lease_held(j.status, j.locked_by, j.attempts, fail_job.worker_id, fail_job.attempt)
  returning j.status into new_status;
  return new_status;
end
$$;

-- Give back jobs worker_id holds without counting the attempt (graceful shutdown): pending again,
-- runnable at once. Returns the ids released.
create function public.release_jobs(worker_id text, ids uuid[], reason text default 'released by worker')
returns setof uuid
language sql
volatile
set search_path = ''
as $$
  update public.jobs j
  set status = 'pending',
      attempts = greatest(j.attempts - 1, 0),
      run_at = now(),
      error_code = 'RELEASED',
      last_error = left(release_jobs.reason, 10000),
      locked_by = null,
      lease_expires_at = null,
      updated_at = now()
  where j.id = any (release_jobs.ids)
    and public.job_lease_held(j.status, j.locked_by, j.attempts, release_jobs.worker_id, null)
  returning j.id
$$;

-- Record a running job's stage and progress for its owner to follow (Realtime UPDATE events).
-- Fenced like complete_job: only the lease holder, and with attempt given, only that attempt (a
-- timed-out attempt of the same worker must not write over the next attempt's stage).
create function public.update_job_progress(
  id uuid,
  worker_id text,
  stage text default null,
  progress jsonb default null,
  attempt integer default null
)
returns boolean
language sql
volatile
set search_path = ''
as $$
  with done as (
    update public.jobs j
    set stage = coalesce(update_job_progress.stage, j.stage),
        progress = update_job_progress.progress,
        updated_at = now()
    where j.id = update_job_progress.id
      and public.job_lease_held(j.status, j.locked_by, j.attempts, update_job_progress.worker_id, update_job_progress.attempt)
    returning 1
  )
  select exists (select 1 from done)
$$;

-- Processing jobs whose lease expired (their worker died or stalled) go back to pending, or to
-- failed with LEASE_EXPIRED when out of attempts. Safe to run from every worker at once: rows
-- another caller is handling are skipped. Returns how many jobs it reclaimed.
create function public.reclaim_expired_jobs()
returns integer
language sql
volatile
set search_path = ''
as $$
  with reclaimed as (
    update public.jobs j
    set status = case when j.attempts >= j.max_attempts then 'failed' else 'pending' end,
        run_at = case when j.attempts >= j.max_attempts then j.run_at else now() end,
        failed_at = case when j.attempts >= j.max_attempts then now() end,
        error_code = 'LEASE_EXPIRED',
        last_error = 'lease of worker ' || coalesce(j.locked_by, '?') || ' expired',
        locked_by = null,
        lease_expires_at = null,
        updated_at = now()
    -- An array of ids, not a join (see claim_jobs).
    where j.id = any (array(
      select e.id
      from public.jobs e
      where e.status = 'processing' and e.lease_expires_at < now()
      for update skip locked
    ))
    returning 1
  )
  select count(*)::integer from reclaimed
$$;

-- Per queue: ready (pending), scheduled (pending, future run_at), processing, completed, failed
-- and cancelled counts, the age in seconds of the oldest ready job, and completed/(completed+failed).
create function public.get_queue_stats()
returns table (
  queue text,
  pending bigint,
  scheduled bigint,
  processing bigint,
  completed bigint,
  failed bigint,
  cancelled bigint,
  oldest_pending_age_seconds double precision,
  success_rate double precision
)
language sql
stable
set search_path = ''
as $$
  with counts as (
    select j.queue,
           count(*) filter (where j.status = 'pending' and j.run_at <= now()) as pending,
           count(*) filter (where j.status = 'pending' and j.run_at > now()) as scheduled,
           count(*) filter (where j.status = 'processing') as processing,
           count(*) filter (where j.status = 'completed') as completed,
           count(*) filter (where j.status = 'failed') as failed,
           count(*) filter (where j.status = 'cancelled') as cancelled,
           extract(epoch from now() - min(j.run_at) filter (where j.status = 'pending' and j.run_at <= now()))::double precision as oldest
    from public.jobs j
    group by j.queue
  )
  select c.queue, c.pending, c.scheduled, c.processing, c.completed, c.failed, c.cancelled,
         c.oldest,
         case when c.completed + c.failed = 0 then null
              else c.completed::double precision / (c.completed + c.failed) end
  from counts c
  order by c.queue
$$;

-- Run a failed or cancelled job again, with a fresh set of attempts. Returns whether it applied.
create function public.retry_job(id uuid)
returns boolean
language sql
volatile
set search_path = ''
as $$
  with done as (
    update public.jobs j
    set status = 'pending', attempts = 0, run_at = now(), failed_at = null, completed_at = null,
        locked_by = null, lease_expires_at = null, updated_at = now()
    where j.id = retry_job.id and j.status in ('failed', 'cancelled')
    returning 1
  )
  select exists (select 1 from done)
$$;

-- Run every failed job again (of one queue, or all). Returns how many. A job_key allows one live
-- job: a failed job whose key a live job holds stays failed, and of failed jobs sharing a key only
-- the latest runs again; otherwise one such job would make the whole call fail (23505).
create function public.retry_failed_jobs(queue text default null)
returns integer
language sql
volatile
set search_path = ''
as $$
  with retry as (
    select distinct on (coalesce(f.job_key, f.id::text), f.task, f.user_id, f.from_user) f.id
    from public.jobs f
    where f.status = 'failed'
      and (retry_failed_jobs.queue is null or f.queue = retry_failed_jobs.queue)
      and not exists (select 1 from public.jobs l
                      where f.job_key is not null and l.job_key = f.job_key and l.task = f.task
                        and l.user_id is not distinct from f.user_id and l.from_user = f.from_user
                        and l.status in ('pending', 'processing'))
    order by coalesce(f.job_key, f.id::text), f.task, f.user_id, f.from_user, f.failed_at desc, f.id
  ),
  done as (
    update public.jobs j
    set status = 'pending', attempts = 0, run_at = now(), failed_at = null,
        locked_by = null, lease_expires_at = null, updated_at = now()
    from retry
    where j.id = retry.id and j.status = 'failed'
    returning 1
  )
  select count(*)::integer from done
$$;

-- Cancel a pending or processing job. A running handler learns it at its next heartbeat and its
-- result is then refused. Returns whether it applied.
create function public.cancel_job(id uuid)
returns boolean
language sql
volatile
set search_path = ''
as $$
  with done as (
    update public.jobs j
    set status = 'cancelled', locked_by = null, lease_expires_at = null, updated_at = now()
    where j.id = cancel_job.id and j.status in ('pending', 'processing', 'waiting')
    returning 1
  )
  select exists (select 1 from done)
$$;

-- Delete finished jobs (by default completed and cancelled; name 'failed' to drop dead letters
-- too) last changed before now() - older_than, with their history. Returns how many jobs.
-- SECURITY DEFINER: its callers (service_role) may not delete job_events themselves; this is the
-- one way history goes (see job_events_guard).
create function public.purge_jobs(older_than interval, statuses text[] default array['completed', 'cancelled'])
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  purged integer;
begin
  perform public.job_check_argument(older_than >= interval '0', 'older_than must not be negative');
  perform public.job_check_argument(statuses <@ array['completed', 'failed', 'cancelled'],
                                    'statuses may name only completed, failed and cancelled');
  -- The one way history goes: see job_events_guard.
  insert into supajobs.history_purges (xact) values (pg_current_xact_id());
  with gone as (
    delete from public.jobs j
    where j.status = any (purge_jobs.statuses)
      and j.updated_at < now() - purge_jobs.older_than
    returning j.id
  ),
  history as (
    delete from public.job_events e using gone where e.job_id = gone.id
  )
  select count(*)::integer into purged from gone;
  delete from supajobs.history_purges p where p.xact = pg_current_xact_id();
  return purged;
end
$$;

-- An end user cancels their own pending job (checked against auth.uid()), and only one they
-- inserted themselves: what the service enqueued for them is the service's to cancel.
create function public.cancel_my_job(id uuid)
returns boolean
language sql
volatile
security definer
set search_path = ''
as $$
  with done as (
    update public.jobs j
    set status = 'cancelled', updated_at = now()
    where j.id = cancel_my_job.id
      and j.status in ('pending', 'waiting')
      and j.user_id = auth.uid()
      and j.from_user
    returning 1
  )
  select exists (select 1 from done)
$$;
