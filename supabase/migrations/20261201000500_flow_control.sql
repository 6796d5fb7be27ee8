-- supajobs: flow control, held fleet-wide because claim_jobs honours it inside the database.
--
-- A queue may be paused, limited to max_running jobs processing at once, and limited to
-- max_per_second jobs started in any one-second span. Jobs may carry a concurrency_key: at most
-- concurrency_limit jobs with one key run at once. Queues without a row here, and jobs without a
-- key, are claimed by claim_jobs' plain path and pay nothing for any of this.

create table public.job_queues (
  queue          text primary key check (length(queue) between 1 and 200),
  paused         boolean not null default false,
  max_running    integer check (max_running between 0 and 1000000),
  max_per_second integer check (max_per_second between 1 and 1000000),
  -- The starts of the last second, one entry per claim: (time, how many). A window, not a token
  -- bucket: a bucket of N refilled at N per second lets up to 2N start within one second.
  start_times    timestamptz[] not null default '{}',
  start_counts   integer[] not null default '{}',
  updated_at     timestamptz not null default now()
);

comment on table public.job_queues is 'supajobs: paused queues and queue limits, honoured by claim_jobs across every worker. Write through pause_queue, resume_queue and set_queue_limits.';

-- The queues claim_jobs must treat with care (paused or limited), or null when there are none.
create function public.job_controlled_queues()
returns text[]
language sql
stable
set search_path = ''
as $$
  select array_agg(q.queue)
  from public.job_queues q
  where q.paused or q.max_running is not null or q.max_per_second is not null
$$;

-- Claims up to wanted ready jobs (queues null: any queue but those in excluded) for worker_id,
-- honouring concurrency keys; started_at is started (a limited queue's claim time), or when null
-- the time a key's slot was found free (keyed jobs) and now() (the others). Returns the claimed
-- ids. Keyed jobs first, key by key under a transaction-scoped advisory lock on the key (so that
-- two claims never both see a free slot), then the jobs without a key in one statement, as
-- claim_jobs does.
create function public.job_claim_rows(
  worker_id text, queues text[], excluded text[], wanted integer, lease_seconds integer, started timestamptz
)
returns uuid[]
language plpgsql
volatile
set search_path = ''
as $$
declare
  ids uuid[] := '{}';
  got uuid[];
  k record;
  running integer;
  key_started timestamptz;
  unkeyed_started timestamptz;
begin
  -- Keys with a ready job and a free slot (as far as this snapshot knows), best job first.
  for k in
    with busy as (
      select r.concurrency_key, count(*) as n
      from public.jobs r
      where r.status = 'processing' and r.concurrency_key is not null
      group by r.concurrency_key
    )
    select c.concurrency_key, c.concurrency_limit
    from (
      select distinct on (p.concurrency_key) p.concurrency_key, p.concurrency_limit, p.priority, p.run_at, p.created_at
      from public.jobs p
      where p.status = 'pending' and p.concurrency_key is not null and p.run_at <= now()
        and (queues is null or p.queue = any (queues))
        and (excluded is null or p.queue <> all (excluded))
      order by p.concurrency_key, p.priority desc, p.run_at, p.created_at
    ) c
    left join busy b on b.concurrency_key = c.concurrency_key
    where coalesce(b.n, 0) < c.concurrency_limit
    order by c.priority desc, c.run_at, c.created_at
  loop
    exit when wanted - cardinality(ids) <= 0;
    -- Not waited for: a claim holding the key takes its free slot anyway, and a wait here (under
    -- a limited queue's row lock) could close a circle with a claim waiting for that queue.
    continue when not pg_try_advisory_xact_lock(hashtextextended('supajobs.concurrency_key:' || k.concurrency_key, 0));
    -- A fresh snapshot (a new statement) after the lock: claims of this key that committed count.
    select count(*) into running
    from public.jobs r
    where r.status = 'processing' and r.concurrency_key = k.concurrency_key;
    continue when running >= k.concurrency_limit;
    -- As in job_claim_controlled: after the lock and the count (a limited queue passes its own).
    key_started := coalesce(started, clock_timestamp());
    with claimed as (
      update public.jobs j
      set status = 'processing', attempts = j.attempts + 1, locked_by = job_claim_rows.worker_id,
          lease_expires_at = key_started + make_interval(secs => job_claim_rows.lease_seconds),
          started_at = key_started, updated_at = key_started
      where j.id = any (array(
        select n.id from public.jobs n
        where n.status = 'pending' and n.concurrency_key = k.concurrency_key and n.run_at <= now()
          and (queues is null or n.queue = any (queues))
          and (excluded is null or n.queue <> all (excluded))
        order by n.priority desc, n.run_at, n.created_at
        limit least(k.concurrency_limit - running, wanted - cardinality(ids))
        for update skip locked
      ))
      returning j.id
    )
    select coalesce(array_agg(c.id), '{}') into got from claimed c;
    ids := ids || got;
  end loop;

  if wanted - cardinality(ids) > 0 then
    unkeyed_started := coalesce(started, now());
    with claimed as (
      update public.jobs j
      set status = 'processing', attempts = j.attempts + 1, locked_by = job_claim_rows.worker_id,
          lease_expires_at = unkeyed_started + make_interval(secs => job_claim_rows.lease_seconds),
          started_at = unkeyed_started, updated_at = unkeyed_started
      where j.id = any (array(
        select n.id from public.jobs n
        where n.status = 'pending' and n.run_at <= now() and n.concurrency_key is null
          and (queues is null or n.queue = any (queues))
          and (excluded is null or n.queue <> all (excluded))
        order by n.priority desc, n.run_at, n.created_at
        limit wanted - cardinality(ids)
        for update skip locked
      ))
      returning j.id
    )
    select coalesce(array_agg(c.id), '{}') into got from claimed c;
    ids := ids || got;
  end if;
  return ids;
end
$$;

-- claim_jobs when queue controls or concurrency keys are in play. Each limited queue the caller
-- asked for is claimed under its job_queues row lock, held to commit: one claim at a time counts
-- and claims from a limited queue, which is what makes its limits hold across the fleet. The
-- other queues follow.
create function public.job_claim_controlled(
  worker_id text, queues text[], batch_size integer, lease_seconds integer, controlled text[]
)
returns setof public.jobs
language plpgsql
volatile
set search_path = ''
as $$
declare
  ids uuid[] := '{}';
  got uuid[];
  q public.job_queues;
  allowed integer;
  started timestamptz;
  recent integer;
  times timestamptz[];
  counts integer[];
begin
  for q in
    select c.* from public.job_queues c
    where c.queue = any (controlled) and not c.paused
      and (job_claim_controlled.queues is null or c.queue = any (job_claim_controlled.queues))
    order by c.queue
  loop
    exit when batch_size - cardinality(ids) <= 0;
    -- A claim for this queue alone waits its turn (it has nothing else to do, and holds no other
    -- lock, so no circle of waits can form). A claim that may take other queues skips a queue
    -- another claim holds, rather than queue up behind it.
    if cardinality(job_claim_controlled.queues) = 1 then
      select c.* into q from public.job_queues c where c.queue = q.queue for update;
    else
      select c.* into q from public.job_queues c where c.queue = q.queue for update skip locked;
    end if;
    continue when not found or q.paused;
    allowed := batch_size - cardinality(ids);
    if q.max_running is not null then
      allowed := least(allowed, q.max_running - (select count(*)::integer from public.jobs r
                                                 where r.status = 'processing' and r.queue = q.queue));
    end if;
    -- After the lock and the count: the start times of one queue's claims follow the order of its
    -- lock, and come after the ends of the jobs the count saw finished.
    started := clock_timestamp();
    if q.max_per_second is not null then
      select coalesce(array_agg(w.t order by w.t), '{}'), coalesce(array_agg(w.n order by w.t), '{}'), coalesce(sum(w.n), 0)
        into times, counts, recent
      from unnest(q.start_times, q.start_counts) w(t, n)
      where w.t > started - interval '1 second';
      allowed := least(allowed, q.max_per_second - recent);
    end if;
    continue when allowed <= 0;
    got := public.job_claim_rows(worker_id, array[q.queue], null, allowed, lease_seconds, started);
    ids := ids || got;
    if q.max_per_second is not null and cardinality(got) > 0 then
      update public.job_queues c
      set start_times = times || started, start_counts = counts || cardinality(got)
      where c.queue = q.queue;
    end if;
  end loop;
  if batch_size - cardinality(ids) > 0 then
    ids := ids || public.job_claim_rows(worker_id, queues, controlled, batch_size - cardinality(ids), lease_seconds, null);
  end if;
  return query select j.* from public.jobs j where j.id = any (ids) order by j.priority desc, j.run_at, j.created_at;
end
$$;

-- Stop claiming from queue (jobs already running finish). Returns the queue's controls.
create function public.pause_queue(queue text)
returns setof public.job_queues
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(length(queue) between 1 and 200, 'queue must be 1 to 200 characters');
  return query
  insert into public.job_queues as c (queue, paused) values (pause_queue.queue, true)
  on conflict on constraint job_queues_pkey do update set paused = true, updated_at = now()
  returning c.*;
end
$$;

-- Claim from queue again, at once. Returns the queue's controls (none when it had none).
create function public.resume_queue(queue text)
returns setof public.job_queues
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(length(queue) between 1 and 200, 'queue must be 1 to 200 characters');
  return query
  update public.job_queues c set paused = false, updated_at = now()
  where c.queue = resume_queue.queue
  returning c.*;
  -- A queue wakes at once: workers polling slowly hear of its ready jobs now.
  perform public.job_notify_ready(array[queue], array[now()]);
end
$$;

-- Limit queue: at most max_running jobs processing at once and at most max_per_second started in
-- any one-second span, across all workers. null lifts a limit. Returns the queue's controls.
create function public.set_queue_limits(queue text, max_running integer default null, max_per_second integer default null)
returns setof public.job_queues
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform public.job_check_argument(length(queue) between 1 and 200, 'queue must be 1 to 200 characters');
  perform public.job_check_argument(max_running is null or max_running between 0 and 1000000,
                                    'max_running must be null or between 0 and 1000000');
  perform public.job_check_argument(max_per_second is null or max_per_second between 1 and 1000000,
                                    'max_per_second must be null or between 1 and 1000000');
  return query
  insert into public.job_queues as c (queue, max_running, max_per_second)
  values (set_queue_limits.queue, set_queue_limits.max_running, set_queue_limits.max_per_second)
  on conflict on constraint job_queues_pkey do update
  set max_running = excluded.max_running, max_per_second = excluded.max_per_second, updated_at = now()
  returning c.*;
end
$$;

-- Every queue with controls, with how many of its jobs are processing now.
create function public.get_queue_controls()
returns table (queue text, paused boolean, max_running integer, max_per_second integer, processing bigint,
               started_last_second bigint, updated_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select c.queue, c.paused, c.max_running, c.max_per_second,
         (select count(*) from public.jobs r where r.status = 'processing' and r.queue = c.queue),
         (select coalesce(sum(w.n), 0)::bigint from unnest(c.start_times, c.start_counts) w(t, n)
          where w.t > now() - interval '1 second'),
         c.updated_at
  from public.job_queues c
  order by c.queue
$$;

revoke all on table public.job_queues from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.job_queues to service_role;

-- All service_role only: claim_jobs runs as its caller, and calls the helpers.
select public.job_grant_to_service_role_only(array[
  'public.job_controlled_queues()',
  'public.job_claim_rows(text, text[], text[], integer, integer, timestamptz)',
  'public.job_claim_controlled(text, text[], integer, integer, text[])',
  'public.pause_queue(text)',
  'public.resume_queue(text)',
  'public.set_queue_limits(text, integer, integer)',
  'public.get_queue_controls()'
]);

notify pgrst, 'reload schema';
