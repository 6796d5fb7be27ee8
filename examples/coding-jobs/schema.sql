-- What the database decides for end users' coding jobs; nothing here is taken from the client.

-- The priority each plan's jobs get (higher runs first) and how many may be live at once.
insert into public.job_priority_tiers (tier, priority, max_live_jobs) values
  ('free', 0, 3), ('pro', 5, 20), ('enterprise', 10, 200)
on conflict (tier) do update set priority = excluded.priority, max_live_jobs = excluded.max_live_jobs;

-- The one task end users may enqueue themselves, its queue and its attempts.
insert into public.job_client_tasks (task, queue, max_attempts) values ('coding-job', 'coding', 3)
on conflict (task) do update set queue = excluded.queue, max_attempts = excluded.max_attempts;

-- The app's billing (not exposed through the Data API): a user's plan is their job tier.
create schema if not exists billing;
create table billing.subscriptions (
  user_id    uuid primary key,
  plan       text not null references public.job_priority_tiers (tier),
  updated_at timestamptz not null default now()
);

create function billing.sync_job_tier() returns trigger language plpgsql set search_path = '' as $$
begin
  insert into public.job_user_tiers (user_id, tier) values (new.user_id, new.plan)
  on conflict (user_id) do update set tier = excluded.tier, updated_at = now();
  return null;
end
$$;

create trigger subscriptions_sync_job_tier after insert or update of plan on billing.subscriptions
  for each row execute function billing.sync_job_tier();
