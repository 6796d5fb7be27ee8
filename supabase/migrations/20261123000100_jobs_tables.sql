-- supajobs: the tables of the queue.
--
-- A job is one row of public.jobs; its life is pending -> processing -> completed, with failed
-- (the dead-letter state) and cancelled as the other ends. public.job_events is the append-only
-- history of every status and stage change.

create table public.jobs (
  id                   uuid primary key default gen_random_uuid(),
  task                 text not null check (length(task) between 1 and 200),
  queue                text not null default 'default' check (length(queue) between 1 and 200),
  payload              jsonb not null default '{}'::jsonb,
  status               text not null default 'pending'
                         -- waiting: held until its dependencies completed (see enqueue_flow)
                         check (status in ('pending', 'processing', 'completed', 'failed', 'cancelled', 'waiting')),
  priority             integer not null default 0 check (priority between -1000 and 1000),
  -- Finite: an infinite run_at breaks the age in get_queue_stats() (PostgreSQL < 17 cannot
  -- subtract it) and the next_run_at that wake-ups carry.
  run_at               timestamptz not null default now() check (isfinite(run_at)),
  attempts             integer not null default 0 check (attempts >= 0),
  max_attempts         integer not null default 5 check (max_attempts between 1 and 1000),
  -- Retry backoff for this job; null means the defaults of job_backoff_delay(). Bounded (365 days)
  -- because a larger value overflows the interval that job_backoff_delay() returns.
  backoff_base_seconds double precision check (backoff_base_seconds between 0 and 31536000),
  backoff_max_seconds  double precision check (backoff_max_seconds between 0 and 31536000),
  locked_by            text,
  lease_expires_at     timestamptz,
  job_key              text check (length(job_key) between 1 and 512),
  stage                text check (length(stage) <= 200),
  progress             jsonb,
  result               jsonb,
  error_code           text,
  last_error           text,
  user_id              uuid,
  created_at           timestamptz not null default now(),
  started_at           timestamptz,
  completed_at         timestamptz,
  failed_at            timestamptz,
  updated_at           timestamptz not null default now()
);

comment on table public.jobs is 'supajobs queue: one row per job. Write through the queue functions; end users insert their own jobs through RLS.';

-- The claim: ready rows in priority order. Partial, so it holds only pending rows however much
-- history the table keeps.
create index jobs_claim_idx on public.jobs (priority desc, run_at, created_at) where status = 'pending';
-- Lease expiry scan for reclaim_expired_jobs().
create index jobs_lease_idx on public.jobs (lease_expires_at) where status = 'processing';
-- job_key dedup: one live job per key and owner (service jobs share the null owner).
create unique index jobs_job_key_idx on public.jobs (job_key, user_id) nulls not distinct
  where job_key is not null and status in ('pending', 'processing');
-- An owner's jobs, newest first (RLS reads and app listings).
create index jobs_user_idx on public.jobs (user_id, created_at desc) where user_id is not null;
-- No (queue, status) index: get_queue_stats() reads every row anyway, purge is rare, and every
-- status change would pay for it (an update that changes status is never HOT here).

create table public.job_events (
  -- Orders a job's events; the key is (job_id, id), one index serving both identity and the
  -- per-job history read (a second index on id alone would cost every event an insert).
  id          bigint generated always as identity,
  job_id      uuid not null,
  user_id     uuid,
  queue       text not null,
  task        text not null,
  -- 'enqueued', a new status ('processing', 'pending', 'completed', 'failed', 'cancelled') or 'stage'.
  event       text not null,
  from_status text,
  to_status   text not null,
  stage       text,
  attempt     integer not null,
  worker_id   text,
  actor       text not null default current_user,
  error_code  text,
  message     text,
  created_at  timestamptz not null default now()
);

comment on table public.job_events is 'supajobs: append-only history of every job status and stage change.';

alter table public.job_events add constraint job_events_pkey primary key (job_id, id);
create index job_events_user_idx on public.job_events (user_id, id) where user_id is not null;

-- Plan tiers and the priority an end user's jobs get.
create table public.job_priority_tiers (
  tier     text primary key,
  priority integer not null check (priority between -1000 and 1000)
);

insert into public.job_priority_tiers (tier, priority) values
  ('enterprise', 10), ('pro', 10), ('starter', 5), ('free', 0);

-- The app says a user's tier here (a user without a row is on 'free').
create table public.job_user_tiers (
  user_id    uuid primary key,
  tier       text not null references public.job_priority_tiers (tier),
  updated_at timestamptz not null default now()
);

-- The tasks end users may enqueue themselves, with the queue and attempts their jobs get.
-- A task missing here can be enqueued only by the service role.
create table public.job_client_tasks (
  task         text primary key,
  queue        text not null default 'default',
  max_attempts integer not null default 3 check (max_attempts between 1 and 1000)
);
