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
  -- Bounded for every writer: an infinite run_at breaks the age in get_queue_stats() (PostgreSQL
  -- < 17 cannot subtract it); a BC date jumps the queue and makes the oldest-pending age absurd;
  -- years past 9999 print in a form JavaScript's Date cannot read (the wake-up hints carry it).
  run_at               timestamptz not null default now()
                         check (run_at between '2000-01-01 00:00:00+00' and '9999-12-31 23:59:59+00'),
  attempts             integer not null default 0 check (attempts >= 0),
  max_attempts         integer not null default 5 check (max_attempts between 1 and 1000),
  -- Retry backoff for this job; null means the defaults of job_backoff_delay(). Bounded (365 days)
  -- because a larger value overflows the interval that job_backoff_delay() returns.
  backoff_base_seconds double precision check (backoff_base_seconds between 0 and 31536000),
  backoff_max_seconds  double precision check (backoff_max_seconds between 0 and 31536000),
  locked_by            text,
  lease_expires_at     timestamptz,
  job_key              text check (length(job_key) between 1 and 512),
  -- Jobs that belong together (one upload's files, one import's rows): listed, counted, retried
  -- and cancelled as one (the operator functions, indexed by jobs_group_idx).
  group_key            text check (length(group_key) between 1 and 200),
  stage                text check (length(stage) <= 200),
  progress             jsonb,
  result               jsonb,
  error_code           text,
  -- The failure as the worker saw it (may hold internals: addresses, stack lines): service only.
  last_error           text,
  -- The failure as the handler chose to tell the job's owner (PermanentJobError's publicMessage);
  -- what end users see of a failure besides error_code.
  public_error         text check (length(public_error) <= 1000),
  user_id              uuid,
  -- Jobs sharing a concurrency key run at most concurrency_limit at once, fleet-wide
  -- (claim_jobs; 20261201000500_flow_control.sql). No key: no limit, and no cost.
  concurrency_key      text check (length(concurrency_key) between 1 and 512),
  concurrency_limit    integer not null default 1 check (concurrency_limit between 1 and 10000),
  -- Inserted by the end user (through RLS) rather than enqueued by the service. End users' job_keys
  -- are a namespace of their own, and they may cancel only these jobs.
  from_user            boolean not null default false,
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
-- job_key dedup: one live job per key, task and owner (service jobs share the null owner), with
-- end users' own inserts (from_user) apart from what the service enqueues for them.
create unique index jobs_job_key_idx on public.jobs (job_key, task, user_id, from_user) nulls not distinct
  where job_key is not null and status in ('pending', 'processing');
-- Concurrency keys: the ready keyed jobs, and the running count per key. Partial: jobs without a
-- key have no entry in either.
create index jobs_keyed_claim_idx on public.jobs (run_at) where status = 'pending' and concurrency_key is not null;
create index jobs_keyed_running_idx on public.jobs (concurrency_key) where status = 'processing' and concurrency_key is not null;
-- An owner's jobs, newest first (RLS reads and app listings).
create index jobs_user_idx on public.jobs (user_id, created_at desc) where user_id is not null;
-- An end user's live jobs, counted against their plan's max_live_jobs at every insert of theirs.
create index jobs_user_live_idx on public.jobs (user_id)
  where from_user and status in ('pending', 'processing');
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

-- Plan tiers: the priority an end user's jobs get and the bounds on what they may insert.
create table public.job_priority_tiers (
  tier              text primary key,
  priority          integer not null check (priority between -1000 and 1000),
  -- Pending and processing jobs a user may have at once (their own inserts).
  max_live_jobs     integer not null default 100 check (max_live_jobs >= 0),
  -- Size of a job's payload as JSON text; Realtime drops changes over 1,024 KB.
  max_payload_bytes integer not null default 65536 check (max_payload_bytes between 2 and 1048576),
  -- How far ahead a user may schedule a job (run_at); earlier than now is taken as now.
  max_run_at_ahead  interval not null default '30 days' check (max_run_at_ahead between '0' and '3650 days')
);

insert into public.job_priority_tiers (tier, priority, max_live_jobs) values
  ('enterprise', 10, 10000), ('pro', 10, 1000), ('starter', 5, 250), ('free', 0, 100);

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
