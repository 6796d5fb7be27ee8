-- supajobs: the operator's functions. Look-ups, listings, bulk retry and cancel, group and queue
-- summaries and recent history, for the library, the CLI and the admin API alike. Every query
-- here reads through an index, so that each answers in milliseconds on a table of millions of
-- finished jobs (bench/operator-api.ts measures them).

-- Listings, newest first, with keyset pagination on (created_at, id).
create index jobs_created_idx on public.jobs (created_at desc, id desc);
-- One group's jobs (listing and summary); partial: jobs without a group cost nothing here.
create index jobs_group_idx on public.jobs (group_key, created_at desc, id desc) include (status)
  where group_key is not null;
-- Dead letters: few, listed and counted per queue often.
create index jobs_failed_idx on public.jobs (created_at desc, id desc) include (queue, failed_at)
  where status = 'failed';
-- Throughput and success rate over the last hour (a range at the end of the index).
create index jobs_completed_idx on public.jobs (completed_at) include (queue)
  where status = 'completed';
-- Recent history by id: history is appended in id order, so a BRIN index (a few pages, almost
-- free to keep) finds the newest rows; a b-tree on id would cost every event an insert.
create index job_events_id_brin on public.job_events using brin (id);

-- The WHERE clause of a job filter, values quoted as literals so that the planner sees them
-- (a literal status lets it use the partial indexes above). Checks every argument.
create function public.job_filter_sql(
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
  perform public.job_check_argument(status is null or status in ('pending', 'processing', 'completed', 'failed', 'cancelled'),
                                    'status must be one of pending, processing, completed, failed, cancelled');
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

-- A page of jobs matching the filter, newest first. after_cursor is the cursor of the last row
-- of the previous page (null for the first). Rows inserted meanwhile land before the first page,
-- never inside later ones, so paging on while jobs are added neither repeats nor skips a row.
create function public.list_jobs(
  status text default null,
  queue text default null,
  task text default null,
  group_key text default null,
  created_after timestamptz default null,
  created_before timestamptz default null,
  after_cursor text default null,
  page_size integer default 50
)
returns table (cursor text, job jsonb)
language plpgsql
stable
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
declare
  clause text := public.job_filter_sql(status, queue, task, group_key, created_after, created_before);
  after_at timestamptz;
  after_id uuid;
begin
  perform public.job_check_argument(page_size between 1 and 500, 'page_size must be between 1 and 500');
  if after_cursor is not null then
    begin
      after_at := split_part(after_cursor, '/', 1)::timestamptz;
      after_id := split_part(after_cursor, '/', 2)::uuid;
    exception when others then
      after_at := null;
    end;
    perform public.job_check_argument(after_at is not null and after_id is not null, 'after_cursor is not a cursor that list_jobs returned');
    clause := clause || format(' and (j.created_at, j.id) < (%L::timestamptz, %L::uuid)', after_at, after_id);
  end if;
  return query execute format(
    $q$select to_char(j.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '/' || j.id,
              to_jsonb(j)
       from public.jobs j
       where true %s
       order by j.created_at desc, j.id desc
       limit %s$q$, clause, page_size);
end
$$;

-- One job and its history (oldest event first), or null.
create function public.get_job(id uuid)
returns jsonb
language sql
stable
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
  select jsonb_build_object(
    'job', to_jsonb(j),
    'events', coalesce((select jsonb_agg(to_jsonb(e) order by e.id)
                        from public.job_events e where e.job_id = j.id), '[]'::jsonb))
  from public.jobs j
  where j.id = get_job.id
$$;

-- Run again every failed (and, when status says so, cancelled) job matching the filter, with a
-- fresh set of attempts. As retry_failed_jobs: of jobs sharing a job_key only the latest runs,
-- and none whose key a live job holds. Returns how many.
create function public.retry_jobs(
  status text default 'failed',
  queue text default null,
  task text default null,
  group_key text default null,
  created_after timestamptz default null,
  created_before timestamptz default null
)
returns integer
language plpgsql
volatile
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
declare
  retried integer;
begin
  perform public.job_check_argument(status in ('failed', 'cancelled'), 'status must be failed or cancelled');
  execute format(
    $q$with candidate as (
         select distinct on (coalesce(j.job_key, j.id::text), j.user_id) j.id
         from public.jobs j
         where true %s
           and not exists (select 1 from public.jobs l
                           where j.job_key is not null and l.job_key = j.job_key
                             and l.user_id is not distinct from j.user_id
                             and l.status in ('pending', 'processing'))
         order by coalesce(j.job_key, j.id::text), j.user_id, j.updated_at desc, j.id
       ),
       done as (
         update public.jobs j
         set status = 'pending', attempts = 0, run_at = now(), failed_at = null, completed_at = null,
             locked_by = null, lease_expires_at = null, updated_at = now()
         from candidate c
         where j.id = c.id and j.status in ('failed', 'cancelled')
         returning 1
       )
       select count(*)::integer from done$q$,
    public.job_filter_sql(status, queue, task, group_key, created_after, created_before))
  into retried;
  return retried;
end
$$;

-- Cancel every pending (and, when status says so, processing) job matching the filter; a running
-- handler learns it at its next heartbeat. Returns how many.
create function public.cancel_jobs(
  status text default 'pending',
  queue text default null,
  task text default null,
  group_key text default null,
  created_after timestamptz default null,
  created_before timestamptz default null
)
returns integer
language plpgsql
volatile
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
declare
  cancelled integer;
begin
  perform public.job_check_argument(status in ('pending', 'processing'), 'status must be pending or processing');
  execute format(
    $q$with done as (
         update public.jobs j
         set status = 'cancelled', locked_by = null, lease_expires_at = null, updated_at = now()
         where true %s
         returning 1
       )
       select count(*)::integer from done$q$,
    public.job_filter_sql(status, queue, task, group_key, created_after, created_before))
  into cancelled;
  return cancelled;
end
$$;

-- One group: jobs per status, when it began and when it last changed.
create function public.get_group_stats(group_key text)
returns table (
  group_key text,
  total bigint,
  pending bigint,
  processing bigint,
  completed bigint,
  failed bigint,
  cancelled bigint,
  first_created_at timestamptz,
  last_created_at timestamptz
)
language sql
stable
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
  select get_group_stats.group_key,
         count(*),
         count(*) filter (where j.status = 'pending'),
         count(*) filter (where j.status = 'processing'),
         count(*) filter (where j.status = 'completed'),
         count(*) filter (where j.status = 'failed'),
         count(*) filter (where j.status = 'cancelled'),
         min(j.created_at),
         max(j.created_at)
  from public.jobs j
  where j.group_key = get_group_stats.group_key
$$;

-- Per queue, from the live rows and the last hour only (never a scan of kept history): ready,
-- scheduled, processing and failed (dead letter) counts, the oldest ready job's age, completions
-- and failures in the last hour, their success rate, and completions per minute over the last
-- hour (60 numbers, oldest minute first). A queue with none of these does not appear.
create function public.get_queue_overview()
returns table (
  queue text,
  pending bigint,
  scheduled bigint,
  processing bigint,
  failed bigint,
  oldest_pending_age_seconds double precision,
  completed_last_hour bigint,
  failed_last_hour bigint,
  success_rate double precision,
  completions_per_minute integer[]
)
language sql
stable
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
  with live as (
    select j.queue,
           count(*) filter (where j.run_at <= now()) as pending,
           count(*) filter (where j.run_at > now()) as scheduled,
           0::bigint as processing,
           min(j.run_at) filter (where j.run_at <= now()) as oldest
    from public.jobs j where j.status = 'pending' group by j.queue
    union all
    select j.queue, 0, 0, count(*), null from public.jobs j where j.status = 'processing' group by j.queue
  ),
  dead as (
    select j.queue, count(*) as failed, count(*) filter (where j.failed_at > now() - interval '1 hour') as recent
    from public.jobs j where j.status = 'failed' group by j.queue
  ),
  done as (
    select j.queue, floor(extract(epoch from now() - j.completed_at) / 60)::integer as minutes_ago, count(*) as n
    from public.jobs j
    where j.status = 'completed' and j.completed_at > now() - interval '1 hour'
    group by 1, 2
  ),
  queues as (
    select l.queue from live l union select d.queue from dead d union select d.queue from done d
  ),
  minutes as (
    select q.queue, array_agg(coalesce(d.n, 0)::integer order by m.m desc) as per_minute
    from queues q
    cross join generate_series(0, 59) m(m)
    left join done d on d.queue = q.queue and d.minutes_ago = m.m
    group by q.queue
  )
  select q.queue,
         coalesce((select sum(l.pending) from live l where l.queue = q.queue), 0)::bigint,
         coalesce((select sum(l.scheduled) from live l where l.queue = q.queue), 0)::bigint,
         coalesce((select sum(l.processing) from live l where l.queue = q.queue), 0)::bigint,
         coalesce(f.failed, 0),
         extract(epoch from now() - (select min(l.oldest) from live l where l.queue = q.queue))::double precision,
         c.completed,
         coalesce(f.recent, 0),
         case when c.completed + coalesce(f.recent, 0) = 0 then null
              else c.completed::double precision / (c.completed + coalesce(f.recent, 0)) end,
         mi.per_minute
  from queues q
  join minutes mi on mi.queue = q.queue
  left join dead f on f.queue = q.queue
  cross join lateral (select coalesce(sum(d.n), 0)::bigint as completed from done d where d.queue = q.queue) c
  order by q.queue
$$;

-- History: with after_id null, the newest max_rows events, newest first; else the events after
-- after_id, oldest first (a follower's next batch). Reads through job_events_id_brin: the bound
-- is a literal, so the planner sees how few rows it asks for.
create function public.list_job_events(after_id bigint default null, max_rows integer default 50)
returns setof public.job_events
language plpgsql
stable
security definer
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
declare
  newest bigint;
begin
  perform public.job_check_argument(max_rows between 1 and 1000, 'max_rows must be between 1 and 1000');
  if after_id is null then
    newest := coalesce(pg_sequence_last_value(pg_get_serial_sequence('public.job_events', 'id')::regclass), 0);
    -- Ids have gaps (rolled back inserts, cached values): look a little further back than asked.
    return query execute format(
      'select * from public.job_events e where e.id > %s order by e.id desc limit %s',
      newest - max_rows * 4, max_rows);
  else
    return query execute format(
      'select * from public.job_events e where e.id > %s order by e.id limit %s', after_id, max_rows);
  end if;
end
$$;

select public.job_grant_to_service_role_only(array[
  'public.job_filter_sql(text, text, text, text, timestamptz, timestamptz)',
  'public.list_jobs(text, text, text, text, timestamptz, timestamptz, text, integer)',
  'public.get_job(uuid)',
  'public.retry_jobs(text, text, text, text, timestamptz, timestamptz)',
  'public.cancel_jobs(text, text, text, text, timestamptz, timestamptz)',
  'public.get_group_stats(text)',
  'public.get_queue_overview()',
  'public.list_job_events(bigint, integer)'
]);

notify pgrst, 'reload schema';
